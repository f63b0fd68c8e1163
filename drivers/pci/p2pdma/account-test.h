/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the per-path accounting, included at the end of
 * account.c so that they can read its slots.
 *
 * Each test has an accounting of its own and devices of KUnit's: the
 * counters must be exactly the events and bytes given, one slot per path,
 * the slots beyond the table's size in their kind's "other" slot, and
 * debugfs must print each path once.
 */
#ifndef _DRIVERS_PCI_P2PDMA_ACCOUNT_TEST_H
#define _DRIVERS_PCI_P2PDMA_ACCOUNT_TEST_H

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/sizes.h>

static void account_test_destroy(void *acct)
{
	p2pdma_account_destroy(acct);
}

static struct p2pdma_account *account_test_create(struct kunit *test)
{
	struct p2pdma_account *acct = p2pdma_account_create();

	KUNIT_ASSERT_NOT_NULL(test, acct);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							account_test_destroy,
							acct), 0);
	return acct;
}

/* KUnit's device; short names, as KUnit puts the test's name before. */
static struct device *account_test_dev(struct kunit *test, const char *name)
{
	struct device *dev = kunit_device_register(test, name);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	return dev;
}

/* The counters of a path, or all zero with no slot. */
static struct p2pdma_count account_test_path(struct p2pdma_account *acct,
					     int map, struct device *client,
					     const char *reason)
{
	struct p2pdma_account_event ev = p2pdma_account_event(map, client,
							       reason);
	int slot = p2pdma_account_find(acct, 0, acct->nr, &ev);
	struct p2pdma_count none = {};

	return slot < 0 ? none : p2pdma_account_sum(acct, slot);
}

static struct p2pdma_count account_test_other(struct p2pdma_account *acct,
					      enum p2pdma_account_kind kind)
{
	return p2pdma_account_sum(acct, P2PDMA_ACCOUNT_SLOTS + kind);
}

/* What debugfs prints, in @buf. */
static void account_test_show(struct p2pdma_account *acct, char *buf,
			      size_t size)
{
	struct seq_file m = { .buf = buf, .size = size };

	p2pdma_account_show(acct, &m);
	buf[min(m.count, size - 1)] = '\0';
}

static void account_test_mapped(struct kunit *test)
{
	struct p2pdma_account *acct = account_test_create(test);
	struct device *a = account_test_dev(test, "a");
	struct device *b = account_test_dev(test, "b");
	struct p2pdma_count c;

	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_BUS_ADDR, SZ_4K);
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_BUS_ADDR, SZ_64K + 1);
	p2pdma_account_map(acct, b, PCI_P2PDMA_MAP_BUS_ADDR, SZ_1M);
	/* The same client on another path, after the rules changed. */
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, 512);

	KUNIT_EXPECT_EQ(test, acct->nr, 3);
	c = account_test_path(acct, PCI_P2PDMA_MAP_BUS_ADDR,
			      a, "");
	KUNIT_EXPECT_EQ(test, c.events, 2);
	KUNIT_EXPECT_EQ(test, c.bytes, SZ_4K + SZ_64K + 1);
	c = account_test_path(acct, PCI_P2PDMA_MAP_BUS_ADDR,
			      b, "");
	KUNIT_EXPECT_EQ(test, c.events, 1);
	KUNIT_EXPECT_EQ(test, c.bytes, SZ_1M);
	c = account_test_path(acct, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE,
			      a, "");
	KUNIT_EXPECT_EQ(test, c.events, 1);
	KUNIT_EXPECT_EQ(test, c.bytes, 512);
	KUNIT_EXPECT_EQ(test, p2pdma_account_mapped_bytes(acct),
			SZ_4K + SZ_64K + 1 + SZ_1M + 512);
}

/*
 * A PCI function as the accounting sees one: its address, and a name.
 * Never registered: the accounting only reads it.
 */
struct account_test_pci {
	struct pci_dev pdev;
	struct pci_bus bus;
#ifdef CONFIG_X86
	struct pci_sysdata sysdata;	/* pci_domain_nr() reads it */
#endif
};

static struct device *account_test_pci_dev(struct kunit *test,
					   const char *name, u8 busnr,
					   u8 devfn)
{
	struct account_test_pci *p = kunit_kzalloc(test, sizeof(*p),
						   GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
#ifdef CONFIG_X86
	p->bus.sysdata = &p->sysdata;
#endif
	p->bus.number = busnr;
	p->pdev.bus = &p->bus;
	p->pdev.devfn = devfn;
	p->pdev.dev.bus = &pci_bus_type;
	p->pdev.dev.init_name = name;
	return &p->pdev.dev;
}

/* The counters of one path, each named in a failure. */
static void account_test_expect(struct kunit *test,
				struct p2pdma_account *acct, int map,
				struct device *client, const char *reason,
				u64 events, u64 bytes)
{
	struct p2pdma_count n = account_test_path(acct, map, client, reason);

	KUNIT_EXPECT_EQ_MSG(test, n.events, events, "%s, map %d, \"%s\"",
			    dev_name(client), map, reason);
	KUNIT_EXPECT_EQ_MSG(test, n.bytes, bytes, "%s, map %d, \"%s\"",
			    dev_name(client), map, reason);
}

/*
 * Mappings of PCI clients, which a mapping call counts by number alone
 * once the path has a slot: each path still gets its own, and none is
 * taken for another kind's path of the same client.
 */
static void account_test_mapped_pci(struct kunit *test)
{
	struct p2pdma_account *acct = account_test_create(test);
	struct device *a = account_test_pci_dev(test, "0000:03:00.0", 3, 0);
	/* Same device and function on another bus, and the reverse. */
	struct device *b = account_test_pci_dev(test, "0000:04:00.0", 4, 0);
	struct device *c = account_test_pci_dev(test, "0000:03:00.1", 3, 1);
	char buf[512];

	p2pdma_account_refusal(acct, a, "ACS redirects it");
	p2pdma_account_fallback(acct, a, SZ_8K, "out of p2pmem");
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_BUS_ADDR, SZ_4K);
	p2pdma_account_map(acct, b, PCI_P2PDMA_MAP_BUS_ADDR, SZ_64K);
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_BUS_ADDR, SZ_4K);
	p2pdma_account_map(acct, c, PCI_P2PDMA_MAP_BUS_ADDR, 512);
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, SZ_1M);
	/* Refused since it was mapped: counted on a path now unknown. */
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_NOT_SUPPORTED, 100);
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_NOT_SUPPORTED, 100);

	KUNIT_EXPECT_EQ(test, acct->nr, 7);
	account_test_expect(test, acct, PCI_P2PDMA_MAP_BUS_ADDR, a, "",
			    2, 2 * SZ_4K);
	account_test_expect(test, acct, PCI_P2PDMA_MAP_BUS_ADDR, b, "",
			    1, SZ_64K);
	account_test_expect(test, acct, PCI_P2PDMA_MAP_BUS_ADDR, c, "", 1, 512);
	account_test_expect(test, acct, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, a, "",
			    1, SZ_1M);
	account_test_expect(test, acct, PCI_P2PDMA_MAP_UNKNOWN, a, "", 2, 200);
	/* The refusal and the fallback kept their own counts. */
	account_test_expect(test, acct, PCI_P2PDMA_MAP_NOT_SUPPORTED, a,
			    "ACS redirects it", 1, 0);
	account_test_expect(test, acct, P2PDMA_MAP_SYSTEM_MEMORY, a,
			    "out of p2pmem", 1, SZ_8K);
	KUNIT_EXPECT_EQ(test, p2pdma_account_mapped_bytes(acct),
			2 * SZ_4K + SZ_64K + 512 + SZ_1M + 200);

	/* Each path's name is the client's, printed once. */
	account_test_show(acct, buf, sizeof(buf));
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "0000:03:00.0 bus-address 2 8192 -\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "0000:04:00.0 bus-address 1 65536 -\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "0000:03:00.1 bus-address 1 512 -\n"));
}

static void account_test_reasons(struct kunit *test)
{
	struct p2pdma_account *acct = account_test_create(test);
	struct device *a = account_test_dev(test, "a");
	/* Not the literal: a client's reason is compared by its text. */
	char again[] = "out of p2pmem";
	struct p2pdma_count c;

	p2pdma_account_refusal(acct, a, "ACS redirects it");
	p2pdma_account_refusal(acct, a, "ACS redirects it");
	p2pdma_account_refusal(acct, a, "not a PCI device");
	p2pdma_account_fallback(acct, a, SZ_8K, "out of p2pmem");
	p2pdma_account_fallback(acct, a, SZ_4K, again);
	p2pdma_account_fallback(acct, NULL, 100, "no p2pmem in reach");

	KUNIT_EXPECT_EQ(test, acct->nr, 4);
	c = account_test_path(acct, PCI_P2PDMA_MAP_NOT_SUPPORTED,
			      a, "ACS redirects it");
	KUNIT_EXPECT_EQ(test, c.events, 2);
	KUNIT_EXPECT_EQ(test, c.bytes, 0);
	c = account_test_path(acct, PCI_P2PDMA_MAP_NOT_SUPPORTED,
			      a, "not a PCI device");
	KUNIT_EXPECT_EQ(test, c.events, 1);
	c = account_test_path(acct, P2PDMA_MAP_SYSTEM_MEMORY,
			      a, "out of p2pmem");
	KUNIT_EXPECT_EQ(test, c.events, 2);
	KUNIT_EXPECT_EQ(test, c.bytes, SZ_8K + SZ_4K);
	c = account_test_path(acct, P2PDMA_MAP_SYSTEM_MEMORY, NULL,
			      "no p2pmem in reach");
	KUNIT_EXPECT_EQ(test, c.events, 1);
	KUNIT_EXPECT_EQ(test, c.bytes, 100);
	/* Neither moved anything through the provider. */
	KUNIT_EXPECT_EQ(test, p2pdma_account_mapped_bytes(acct), 0);
}

/* A full table counts new paths in "other", of their own kind. */
static void account_test_full(struct kunit *test)
{
	struct p2pdma_account *acct = account_test_create(test);
	struct device *a = account_test_dev(test, "a");
	char reason[16];
	u64 bytes = 0;
	int i;

	for (i = 0; i < P2PDMA_ACCOUNT_SLOTS + 5; i++) {
		snprintf(reason, sizeof(reason), "reason %d", i);
		p2pdma_account_fallback(acct, a, i, reason);
		bytes += i;
	}
	KUNIT_EXPECT_EQ(test, acct->nr, P2PDMA_ACCOUNT_SLOTS);
	KUNIT_EXPECT_EQ(test,
			account_test_other(acct, P2PDMA_ACCOUNT_FALLBACK).events,
			5);
	/* An old path still has its slot. */
	p2pdma_account_fallback(acct, a, 7, "reason 3");
	KUNIT_EXPECT_EQ(test, account_test_path(acct, P2PDMA_MAP_SYSTEM_MEMORY,
						a, "reason 3").bytes, 3 + 7);
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_BUS_ADDR, SZ_4K);
	p2pdma_account_refusal(acct, a, "ACS redirects it");
	KUNIT_EXPECT_EQ(test,
			account_test_other(acct, P2PDMA_ACCOUNT_MAPPED).bytes,
			SZ_4K);
	KUNIT_EXPECT_EQ(test,
			account_test_other(acct, P2PDMA_ACCOUNT_REFUSED).events,
			1);
	/* Exact totals all the same. */
	KUNIT_EXPECT_EQ(test, p2pdma_account_mapped_bytes(acct), SZ_4K);
	bytes += 7;
	for (i = 0; i < P2PDMA_ACCOUNT_SLOTS; i++)
		bytes -= p2pdma_account_sum(acct, i).bytes;
	KUNIT_EXPECT_EQ(test, bytes,
			account_test_other(acct, P2PDMA_ACCOUNT_FALLBACK).bytes);
}

/* Names and reasons longer than a key are cut, still one slot each. */
static void account_test_long(struct kunit *test)
{
	struct p2pdma_account *acct = account_test_create(test);
	struct device *a = account_test_dev(test,
			"a-client-with-a-name-longer-than-a-key");
	char reason[P2PDMA_ACCOUNT_REASON + 20];

	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	p2pdma_account_fallback(acct, a, 1, reason);
	p2pdma_account_fallback(acct, a, 2, reason);
	KUNIT_EXPECT_EQ(test, acct->nr, 1);
	KUNIT_EXPECT_EQ(test, strlen(acct->keys[0].reason),
			P2PDMA_ACCOUNT_REASON - 1);
	KUNIT_EXPECT_EQ(test, strlen(acct->keys[0].client),
			P2PDMA_ACCOUNT_CLIENT - 1);
	KUNIT_EXPECT_EQ(test, p2pdma_account_sum(acct, 0).bytes, 3);
}

static void account_test_show_lines(struct kunit *test)
{
	struct p2pdma_account *acct = account_test_create(test);
	struct device *a = account_test_dev(test, "a");
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	char *want;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_BUS_ADDR, 4096);
	p2pdma_account_refusal(acct, a, "ACS redirects it");
	p2pdma_account_fallback(acct, NULL, 8192, "out of p2pmem");
	account_test_show(acct, buf, PAGE_SIZE);
	want = kasprintf(GFP_KERNEL,
			 "%s bus-address 1 4096 -\n"
			 "%s not-supported 1 0 ACS redirects it\n"
			 "none system-memory 1 8192 out of p2pmem\n",
			 dev_name(a), dev_name(a));
	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_EXPECT_STREQ(test, buf, want);
	kfree(want);

	for (i = 0; i < P2PDMA_ACCOUNT_SLOTS; i++)
		p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE + i,
				   1);
	account_test_show(acct, buf, PAGE_SIZE);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "\nother - 3 3 -\n"));
}

static void account_test_off(struct kunit *test)
{
	struct p2pdma_account *acct = account_test_create(test);
	struct device *a = account_test_dev(test, "a");
	bool was_on = p2pdma_accounting_on();

	KUNIT_ASSERT_EQ(test, p2pdma_accounting_set("0", NULL), 0);
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_BUS_ADDR, SZ_4K);
	p2pdma_account_fallback(acct, a, SZ_4K, "out of p2pmem");
	KUNIT_EXPECT_EQ(test, acct->nr, 0);
	KUNIT_ASSERT_EQ(test, p2pdma_accounting_set("1", NULL), 0);
	p2pdma_account_map(acct, a, PCI_P2PDMA_MAP_BUS_ADDR, SZ_4K);
	KUNIT_EXPECT_EQ(test, p2pdma_account_mapped_bytes(acct), SZ_4K);
	KUNIT_EXPECT_EQ(test, p2pdma_accounting_set("maybe", NULL), -EINVAL);
	/* As the administrator had it. */
	p2pdma_accounting_set(was_on ? "1" : "0", NULL);
}

static struct kunit_case account_test_cases[] = {
	KUNIT_CASE(account_test_mapped),
	KUNIT_CASE(account_test_mapped_pci),
	KUNIT_CASE(account_test_reasons),
	KUNIT_CASE(account_test_full),
	KUNIT_CASE(account_test_long),
	KUNIT_CASE(account_test_show_lines),
	KUNIT_CASE(account_test_off),
	{}
};

static struct kunit_suite account_test_suite = {
	.name = "p2pdma_account",
	.test_cases = account_test_cases,
};

kunit_test_suite(account_test_suite);

#endif /* _DRIVERS_PCI_P2PDMA_ACCOUNT_TEST_H */
