/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests for where the clearing worker runs, included at the end of
 * clear.c.  Which CPUs are idle, and which are isolated, is the test's to
 * say, through the probe p2pdma_clear_cpu() takes; the CPUs themselves are
 * the machine's (cpumask iterators stop at nr_cpu_ids), so the cases need
 * two online CPUs.
 */
#ifndef _DRIVERS_PCI_P2PDMA_CLEAR_TEST_H
#define _DRIVERS_PCI_P2PDMA_CLEAR_TEST_H

#include <kunit/test.h>

/* The CPUs the cases call idle and isolated, and how often it asked. */
static struct cpumask clear_test_idle_mask;
static struct cpumask clear_test_isolated_mask;
static unsigned int clear_test_asked;

static bool clear_test_usable(unsigned int cpu)
{
	return cpu_online(cpu) &&
	       !cpumask_test_cpu(cpu, &clear_test_isolated_mask);
}

static bool clear_test_idle(unsigned int cpu)
{
	clear_test_asked++;
	return cpumask_test_cpu(cpu, &clear_test_idle_mask);
}

static const struct p2pdma_cpu_probe clear_test_probe = {
	.usable = clear_test_usable,
	.idle = clear_test_idle,
};

static unsigned int clear_test_pick(const struct cpumask *near,
				    unsigned int here)
{
	clear_test_asked = 0;
	return p2pdma_clear_cpu(near, here, &clear_test_probe);
}

/* The online CPU after @cpu, wrapping. */
static unsigned int clear_test_next(unsigned int cpu)
{
	cpu = cpumask_next(cpu, cpu_online_mask);
	return cpu < nr_cpu_ids ? cpu : cpumask_first(cpu_online_mask);
}

static int clear_test_init(struct kunit *test)
{
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs");
	cpumask_clear(&clear_test_idle_mask);
	cpumask_clear(&clear_test_isolated_mask);
	return 0;
}

/* From every CPU: an idle CPU, near the BAR or not, never the kicker. */
static void clear_test_idle_first(struct kunit *test)
{
	unsigned int here, next;

	for_each_online_cpu(here) {
		next = clear_test_next(here);
		cpumask_clear(&clear_test_idle_mask);
		cpumask_set_cpu(next, &clear_test_idle_mask);
		KUNIT_EXPECT_EQ(test, clear_test_pick(cpu_online_mask, here),
				next);
		/* Near the BAR is only the kicker: the idle CPU elsewhere. */
		KUNIT_EXPECT_EQ(test, clear_test_pick(cpumask_of(here), here),
				next);
		/* Near the BAR is only the idle CPU. */
		KUNIT_EXPECT_EQ(test, clear_test_pick(cpumask_of(next), here),
				next);
	}
}

/* Nothing idle, or only the kicker: another CPU all the same. */
static void clear_test_never_the_kicker(struct kunit *test)
{
	unsigned int here, got;

	for_each_online_cpu(here) {
		cpumask_clear(&clear_test_idle_mask);
		got = clear_test_pick(cpu_online_mask, here);
		KUNIT_EXPECT_NE(test, got, here);
		KUNIT_EXPECT_TRUE(test, cpu_online(got));
		KUNIT_EXPECT_EQ(test, clear_test_pick(cpumask_of(here), here),
				clear_test_next(here));

		cpumask_set_cpu(here, &clear_test_idle_mask);
		KUNIT_EXPECT_NE(test, clear_test_pick(cpu_online_mask, here),
				here);
	}
}

/* An isolated CPU is never chosen, idle or not: the kicker is, then. */
static void clear_test_isolated(struct kunit *test)
{
	unsigned int here, got;

	for_each_online_cpu(here) {
		cpumask_copy(&clear_test_isolated_mask, cpu_online_mask);
		cpumask_clear_cpu(here, &clear_test_isolated_mask);
		cpumask_copy(&clear_test_idle_mask, cpu_online_mask);
		KUNIT_EXPECT_EQ(test, clear_test_pick(cpu_online_mask, here),
				here);
		KUNIT_EXPECT_EQ(test, clear_test_pick(cpumask_of(here), here),
				here);

		/* With one CPU usable besides the kicker, that one, busy. */
		got = clear_test_next(here);
		cpumask_clear_cpu(got, &clear_test_isolated_mask);
		cpumask_clear(&clear_test_idle_mask);
		KUNIT_EXPECT_EQ(test, clear_test_pick(cpu_online_mask, here),
				got);
	}
}

/*
 * Nothing idle: the choice asks once about each CPU it may take, up to
 * P2PDMA_CLEAR_PROBES of them, and about none twice when near the BAR
 * is everywhere.
 */
static void clear_test_asks(struct kunit *test)
{
	unsigned int here = raw_smp_processor_id();
	unsigned int others = num_online_cpus() - 1;

	cpumask_clear(&clear_test_idle_mask);
	clear_test_pick(cpu_online_mask, here);
	KUNIT_EXPECT_EQ(test, clear_test_asked,
			min(others, P2PDMA_CLEAR_PROBES));
}

static struct kunit_case clear_test_cases[] = {
	KUNIT_CASE(clear_test_idle_first),
	KUNIT_CASE(clear_test_never_the_kicker),
	KUNIT_CASE(clear_test_isolated),
	KUNIT_CASE(clear_test_asks),
	{}
};

static struct kunit_suite clear_test_suite = {
	.name = "p2pdma_clear",
	.init = clear_test_init,
	.test_cases = clear_test_cases,
};

kunit_test_suite(clear_test_suite);

#endif /* _DRIVERS_PCI_P2PDMA_CLEAR_TEST_H */
