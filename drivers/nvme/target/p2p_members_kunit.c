// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit test of the devices nvmet asks about for a namespace on a stacked
 * block device.
 *
 * Included by core.c, for its static functions.  The namespace is on a
 * fake stacked disk whose ->p2pdma_members walks, under RCU, a member set
 * the cases shape: one that grows between nvmet's count and its
 * gathering, one that never stops growing, one with a member that is
 * stacked itself, whose own members are walked in turn, or that cannot
 * name them, or that names itself without end.  Each member's DMA device
 * is a plain struct device, whose references the cases count: nvmet must
 * hold one on each device it hands the P2PDMA core, and none once it
 * lets them go.
 */
#include <kunit/test.h>

#define MEMBERS_MAX	16

#define INNER_MEMBERS	2

struct nvmet_members_test {
	struct request_queue	queue;	/* announces P2PDMA, for both disks */
	struct gendisk		disk;
	struct block_device	bdev;
	/* A member that is stacked itself, and its disk. */
	struct gendisk		inner_disk;
	struct block_device	inner;
	struct device		devs[MEMBERS_MAX];
	struct device		inner_devs[INNER_MEMBERS];
	struct device		client;
	struct nvmet_ns		ns;
	int			nr;	/* members the next walk names */
	int			grow;	/* members each walk adds first */
	bool			unbounded; /* grows past MEMBERS_MAX */
	bool			stacked; /* the walk ends with inner */
	int			walks;
	int			inner_walks;
};

static void nvmet_members_test_submit_bio(struct bio *bio)
{
}

static void nvmet_members_test_release(struct device *dev)
{
}

/*
 * Under RCU, as md's walk: a callback that sleeps is reported.  Devices
 * past MEMBERS_MAX are the same ones again, with more references.
 */
static int nvmet_members_test_walk(struct gendisk *disk,
				   blk_p2pdma_member_fn fn, void *data)
{
	struct nvmet_members_test *t =
		container_of(disk, struct nvmet_members_test, disk);
	int i, ret = 0;

	t->walks++;
	t->nr += t->grow;
	if (!t->unbounded)
		t->nr = min(t->nr, MEMBERS_MAX);
	rcu_read_lock();
	for (i = 0; !ret && i < t->nr; i++)
		ret = fn(&t->bdev, &t->devs[i % MEMBERS_MAX], data);
	if (!ret && t->stacked)
		ret = fn(&t->inner, NULL, data);
	rcu_read_unlock();
	return ret;
}

/* The inner device's members: two of its own. */
static int nvmet_members_test_inner_walk(struct gendisk *disk,
					 blk_p2pdma_member_fn fn, void *data)
{
	struct nvmet_members_test *t =
		container_of(disk, struct nvmet_members_test, inner_disk);
	int i, ret = 0;

	t->inner_walks++;
	rcu_read_lock();
	for (i = 0; !ret && i < INNER_MEMBERS; i++)
		ret = fn(&t->inner, &t->inner_devs[i], data);
	rcu_read_unlock();
	return ret;
}

/* An inner device that names itself, as no real stack can. */
static int nvmet_members_test_loop_walk(struct gendisk *disk,
					blk_p2pdma_member_fn fn, void *data)
{
	struct nvmet_members_test *t =
		container_of(disk, struct nvmet_members_test, inner_disk);

	t->inner_walks++;
	return fn(&t->inner, NULL, data);
}

static const struct block_device_operations nvmet_members_test_fops = {
	.submit_bio	= nvmet_members_test_submit_bio,
	.p2pdma_members	= nvmet_members_test_walk,
};

static const struct block_device_operations nvmet_members_test_inner_fops = {
	.submit_bio	= nvmet_members_test_submit_bio,
	.p2pdma_members	= nvmet_members_test_inner_walk,
};

static const struct block_device_operations nvmet_members_test_loop_fops = {
	.submit_bio	= nvmet_members_test_submit_bio,
	.p2pdma_members	= nvmet_members_test_loop_walk,
};

/* A stacked device that cannot name its members. */
static const struct block_device_operations nvmet_members_test_opaque_fops = {
	.submit_bio	= nvmet_members_test_submit_bio,
};

static int nvmet_members_test_init(struct kunit *test)
{
	struct nvmet_members_test *t = kunit_kzalloc(test, sizeof(*t),
						     GFP_KERNEL);
	int i;

	if (!t)
		return -ENOMEM;
	t->queue.limits.features = BLK_FEAT_PCI_P2PDMA;
	t->disk.fops = &nvmet_members_test_fops;
	t->bdev.bd_disk = &t->disk;
	t->bdev.bd_queue = &t->queue;
	t->inner_disk.fops = &nvmet_members_test_opaque_fops;
	strscpy(t->inner_disk.disk_name, "md9");
	t->inner.bd_disk = &t->inner_disk;
	t->inner.bd_queue = &t->queue;
	for (i = 0; i < MEMBERS_MAX; i++) {
		device_initialize(&t->devs[i]);
		t->devs[i].release = nvmet_members_test_release;
	}
	for (i = 0; i < INNER_MEMBERS; i++) {
		device_initialize(&t->inner_devs[i]);
		t->inner_devs[i].release = nvmet_members_test_release;
	}
	device_initialize(&t->client);
	t->client.release = nvmet_members_test_release;
	t->ns.bdev = &t->bdev;
	t->ns.nsid = 1;
	t->ns.device_path = "kunit";
	test->priv = t;
	return 0;
}

static void nvmet_members_test_exit(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	int i;

	for (i = 0; i < MEMBERS_MAX; i++)
		put_device(&t->devs[i]);
	for (i = 0; i < INNER_MEMBERS; i++)
		put_device(&t->inner_devs[i]);
	put_device(&t->client);
}

/* Every device back to the one reference the test holds. */
static void nvmet_members_test_let_go(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	int i;

	for (i = 0; i < MEMBERS_MAX; i++)
		KUNIT_EXPECT_EQ(test, kref_read(&t->devs[i].kobj.kref), 1);
	for (i = 0; i < INNER_MEMBERS; i++)
		KUNIT_EXPECT_EQ(test, kref_read(&t->inner_devs[i].kobj.kref), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&t->client.kobj.kref), 1);
}

/* The transport's device first, then each member's, referenced. */
static void nvmet_members_test_gathered(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	struct nvmet_p2p_clients c;
	int i;

	t->nr = 3;
	KUNIT_ASSERT_EQ(test, nvmet_ns_p2p_clients(&t->ns, &t->client, &c), 0);
	KUNIT_EXPECT_EQ(test, t->walks, 2);
	KUNIT_ASSERT_EQ(test, c.nr, 4);
	KUNIT_EXPECT_PTR_EQ(test, c.devs[0], &t->client);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_PTR_EQ(test, c.devs[i + 1], &t->devs[i]);
		KUNIT_EXPECT_EQ(test, kref_read(&t->devs[i].kobj.kref), 2);
	}
	KUNIT_EXPECT_EQ(test, kref_read(&t->client.kobj.kref), 2);
	nvmet_p2p_put_clients(&c);
	KUNIT_EXPECT_NULL(test, c.devs);
	nvmet_members_test_let_go(test);
}

/*
 * Members that outgrow the room made for them after the count: gathered
 * again, into room for those seen, until they fit.
 */
static void nvmet_members_test_grew(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	struct nvmet_p2p_clients c;
	int i;

	/* 9 seen with the transport's: room for 13, 15 do not fit; 19, 17 do. */
	t->nr = 2;
	t->grow = 6;
	KUNIT_ASSERT_EQ(test, nvmet_ns_p2p_clients(&t->ns, &t->client, &c), 0);
	KUNIT_EXPECT_EQ(test, t->walks, 3);
	KUNIT_ASSERT_EQ(test, c.nr, MEMBERS_MAX + 1);
	for (i = 0; i < MEMBERS_MAX; i++) {
		KUNIT_EXPECT_PTR_EQ(test, c.devs[i + 1], &t->devs[i]);
		KUNIT_EXPECT_EQ(test, kref_read(&t->devs[i].kobj.kref), 2);
	}
	nvmet_p2p_put_clients(&c);
	nvmet_members_test_let_go(test);
}

/* A set that never stops growing: a few tries, then -EBUSY, nothing held. */
static void nvmet_members_test_never_settles(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	struct nvmet_p2p_clients c;

	t->nr = 1;
	t->grow = 100;
	t->unbounded = true;
	KUNIT_EXPECT_EQ(test, nvmet_ns_p2p_clients(&t->ns, NULL, &c), -EBUSY);
	KUNIT_EXPECT_EQ(test, t->walks, 4);
	KUNIT_EXPECT_NULL(test, c.devs);
	nvmet_members_test_let_go(test);
}

/* A member that is stacked itself: its own members are gathered too. */
static void nvmet_members_test_nested(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	struct nvmet_p2p_clients c;
	int i;

	t->nr = 2;
	t->stacked = true;
	t->inner_disk.fops = &nvmet_members_test_inner_fops;
	KUNIT_ASSERT_EQ(test, nvmet_ns_p2p_clients(&t->ns, &t->client, &c), 0);
	KUNIT_EXPECT_EQ(test, t->inner_walks, 2);
	KUNIT_ASSERT_EQ(test, c.nr, 1 + 2 + INNER_MEMBERS);
	for (i = 0; i < INNER_MEMBERS; i++)
		KUNIT_EXPECT_PTR_EQ(test, c.devs[3 + i], &t->inner_devs[i]);
	nvmet_p2p_put_clients(&c);
	nvmet_members_test_let_go(test);
}

/* A stacked member that cannot name its members: named, nothing held. */
static void nvmet_members_test_opaque_member(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	struct nvmet_p2p_clients c;

	t->nr = 2;
	t->stacked = true;
	KUNIT_EXPECT_EQ(test, nvmet_ns_p2p_clients(&t->ns, &t->client, &c),
			-EREMOTE);
	KUNIT_EXPECT_STREQ(test, c.stacked, "md9");
	KUNIT_EXPECT_NULL(test, c.devs);
	nvmet_members_test_let_go(test);
}

/*
 * A stack deeper than BLK_P2PDMA_MAX_DEPTH (here, one that names itself):
 * gone into that deep and no deeper, then refused as one whose members
 * cannot be checked.
 */
static void nvmet_members_test_too_deep(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	struct nvmet_p2p_clients c;

	t->stacked = true;
	t->inner_disk.fops = &nvmet_members_test_loop_fops;
	KUNIT_EXPECT_EQ(test, nvmet_ns_p2p_clients(&t->ns, &t->client, &c),
			-EREMOTE);
	KUNIT_EXPECT_EQ(test, t->walks + t->inner_walks, BLK_P2PDMA_MAX_DEPTH);
	KUNIT_EXPECT_STREQ(test, c.stacked, "md9");
	nvmet_members_test_let_go(test);
}

/* A device that no longer announces P2PDMA: not walked at all. */
static void nvmet_members_test_no_p2pdma(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	struct nvmet_p2p_clients c;

	t->nr = 2;
	t->queue.limits.features = 0;
	KUNIT_EXPECT_EQ(test, nvmet_ns_p2p_clients(&t->ns, &t->client, &c),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, t->walks, 0);
	KUNIT_EXPECT_NULL(test, c.devs);
	nvmet_members_test_let_go(test);
}

/* A namespace on no block device: the transport's device alone. */
static void nvmet_members_test_no_device(struct kunit *test)
{
	struct nvmet_members_test *t = test->priv;
	struct nvmet_p2p_clients c;

	t->ns.bdev = NULL;
	KUNIT_ASSERT_EQ(test, nvmet_ns_p2p_clients(&t->ns, &t->client, &c), 0);
	KUNIT_EXPECT_EQ(test, t->walks, 0);
	KUNIT_ASSERT_EQ(test, c.nr, 1);
	KUNIT_EXPECT_PTR_EQ(test, c.devs[0], &t->client);
	nvmet_p2p_put_clients(&c);
	nvmet_members_test_let_go(test);
}

static struct kunit_case nvmet_members_test_cases[] = {
	KUNIT_CASE(nvmet_members_test_gathered),
	KUNIT_CASE(nvmet_members_test_grew),
	KUNIT_CASE(nvmet_members_test_never_settles),
	KUNIT_CASE(nvmet_members_test_nested),
	KUNIT_CASE(nvmet_members_test_opaque_member),
	KUNIT_CASE(nvmet_members_test_too_deep),
	KUNIT_CASE(nvmet_members_test_no_p2pdma),
	KUNIT_CASE(nvmet_members_test_no_device),
	{}
};

static struct kunit_suite nvmet_members_test_suite = {
	.name = "nvmet_p2p_members",
	.init = nvmet_members_test_init,
	.exit = nvmet_members_test_exit,
	.test_cases = nvmet_members_test_cases,
};

kunit_test_suite(nvmet_members_test_suite);
