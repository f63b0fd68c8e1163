// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit test of nvmet's p2pmem when the provider goes away.
 *
 * Included by core.c, for its static p2p map functions.  No transport that
 * QEMU offers can hold p2pmem (rdma_rxe is no PCI device), so the test
 * plays the transport: a controller whose DMA device is the provider
 * itself, a namespace set to that provider, and requests that allocate
 * their data buffers as a transport's would.  The provider is the memory
 * BAR 2 of the ivshmem-plain device of
 * tools/testing/kunit/qemu_configs/x86_64_p2pdma.py, registered in a devres
 * group that the cases release as an unbind does; without that device the
 * cases skip.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>

#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define TEST_NSID	1

struct nvmet_p2p_test {
	struct pci_dev *pdev;
	void *group;			/* the provider's registration */
	struct completion removed;
	struct completion disabled;
	struct nvmet_subsys subsys;
	struct nvmet_ctrl ctrl;
	struct nvmet_ns ns;
	struct nvmet_sq sq;
};

static int nvmet_p2p_test_init(struct kunit *test)
{
	struct nvmet_p2p_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	struct pci_dev *pdev;

	if (!t)
		return -ENOMEM;
	test->priv = t;
	pdev = pci_get_device(IVSHMEM_VENDOR, IVSHMEM_DEVICE, NULL);
	if (!pdev)
		return 0;
	if (pci_has_p2pmem(pdev)) {
		pci_dev_put(pdev);
		return 0;
	}
	t->pdev = pdev;
	init_completion(&t->removed);
	init_completion(&t->disabled);

	t->group = devres_open_group(&pdev->dev, NULL, GFP_KERNEL);
	if (!t->group)
		return -ENOMEM;
	if (pci_p2pdma_add_resource(pdev, 2, 0, 0))
		return -ENODEV;
	pci_p2pmem_publish(pdev, true);
	devres_close_group(&pdev->dev, t->group);

	mutex_init(&t->subsys.lock);
	xa_init(&t->subsys.namespaces);
	INIT_LIST_HEAD(&t->subsys.ctrls);
	t->ctrl.subsys = &t->subsys;
	INIT_RADIX_TREE(&t->ctrl.p2p_ns_map, GFP_KERNEL);
	t->ctrl.cntlid = 7;
	t->ctrl.p2p_client = get_device(&pdev->dev);
	t->ns.nsid = TEST_NSID;
	t->ns.use_p2pmem = 1;
	t->ns.p2p_dev = pci_dev_get(pdev);
	t->ns.device_path = "kunit";
	t->sq.ctrl = &t->ctrl;
	t->sq.qid = 1;
	return 0;
}

static void nvmet_p2p_test_exit(struct kunit *test)
{
	struct nvmet_p2p_test *t = test->priv;

	if (!t->pdev)
		return;
	if (t->ctrl.p2p_client) {
		mutex_lock(&t->subsys.lock);
		nvmet_release_p2p_ns_map(&t->ctrl);
		mutex_unlock(&t->subsys.lock);
	}
	/* A namespace disabled on 7.3 is still in the array: free its node. */
	xa_destroy(&t->subsys.namespaces);
	if (t->group)
		devres_release_group(&t->pdev->dev, t->group);
	pci_dev_put(t->ns.p2p_dev);
	pci_dev_put(t->pdev);
}

static struct nvmet_p2p_test *nvmet_p2p_test_or_skip(struct kunit *test)
{
	struct nvmet_p2p_test *t = test->priv;

	if (!t->pdev)
		kunit_skip(test, "needs an unused ivshmem-plain device (x86_64_p2pdma.py)");
	return t;
}

/* A 64 KiB write to the namespace, its buffer allocated by the transport. */
static int nvmet_p2p_test_req(struct nvmet_p2p_test *t, struct nvmet_req *req)
{
	memset(req, 0, sizeof(*req));
	req->sq = &t->sq;
	req->ns = &t->ns;
	req->transfer_len = SZ_64K;
	return nvmet_req_alloc_sgls(req);
}

/* True if every page of @req's data buffer is p2pmem, false if none is. */
static bool nvmet_p2p_test_in_p2pmem(struct kunit *test, struct nvmet_req *req)
{
	unsigned int i, p2p = 0;
	struct scatterlist *sg;

	for_each_sg(req->sg, sg, req->sg_cnt, i)
		p2p += is_pci_p2pdma_page(sg_page(sg));
	KUNIT_EXPECT_TRUE(test, p2p == 0 || p2p == req->sg_cnt);
	return p2p;
}

/* The namespace's p2pmem for the controller, as a connect sets it up. */
static void nvmet_p2p_test_add_p2p(struct nvmet_p2p_test *t)
{
	mutex_lock(&t->subsys.lock);
	nvmet_p2pmem_ns_add_p2p(&t->ctrl, &t->ns);
	mutex_unlock(&t->subsys.lock);
}

/* The namespace's map goes, as nvmet_ns_disable() drops it. */
static void nvmet_p2p_test_drop_map(struct nvmet_p2p_test *t)
{
	mutex_lock(&t->subsys.lock);
	nvmet_p2p_map_free(radix_tree_delete(&t->ctrl.p2p_ns_map, TEST_NSID));
	mutex_unlock(&t->subsys.lock);
}

static struct nvmet_p2p_map *nvmet_p2p_test_map(struct nvmet_p2p_test *t)
{
	return radix_tree_lookup(&t->ctrl.p2p_ns_map, TEST_NSID);
}

static int nvmet_p2p_test_remover(void *data)
{
	struct nvmet_p2p_test *t = data;

	devres_release_group(&t->pdev->dev, t->group);
	complete(&t->removed);
	return 0;
}

/* The provider's removal, from its own thread as an unbind would be. */
static void nvmet_p2p_test_remove_provider(struct kunit *test,
					   struct nvmet_p2p_test *t)
{
	struct task_struct *task;

	task = kthread_run(nvmet_p2p_test_remover, t, "nvmet-p2p-remove");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
}

static bool nvmet_p2p_test_wait_gone(struct nvmet_p2p_map *map)
{
	unsigned int ms;

	/* Generous: built-in suites run while other devices still probe. */
	for (ms = 0; ms < 30000 && !READ_ONCE(map->gone); ms += 20)
		msleep(20);
	return READ_ONCE(map->gone);
}

/*
 * The provider goes away while a request holds its p2pmem: the namespace
 * moves to system memory at once, and the removal waits for that request
 * instead of hanging, then finishes.
 */
static void nvmet_p2p_test_removed_while_in_use(struct kunit *test)
{
	struct nvmet_p2p_test *t = nvmet_p2p_test_or_skip(test);
	struct nvmet_req busy, after;
	struct nvmet_p2p_map *map;
	bool done;

	nvmet_p2p_test_add_p2p(t);
	map = nvmet_p2p_test_map(t);
	KUNIT_ASSERT_NOT_NULL(test, map);
	KUNIT_EXPECT_PTR_EQ(test, map->p2p_dev, t->pdev);

	KUNIT_ASSERT_EQ(test, nvmet_p2p_test_req(t, &busy), 0);
	KUNIT_EXPECT_PTR_EQ(test, busy.p2p_dev, t->pdev);
	KUNIT_EXPECT_TRUE(test, nvmet_p2p_test_in_p2pmem(test, &busy));

	nvmet_p2p_test_remove_provider(test, t);
	KUNIT_EXPECT_TRUE(test, nvmet_p2p_test_wait_gone(map));
	/* The removal is waiting for busy's pages. */
	msleep(100);
	KUNIT_EXPECT_FALSE(test, completion_done(&t->removed));

	KUNIT_EXPECT_EQ(test, nvmet_p2p_test_req(t, &after), 0);
	KUNIT_EXPECT_NULL(test, after.p2p_dev);
	KUNIT_EXPECT_FALSE(test, nvmet_p2p_test_in_p2pmem(test, &after));
	nvmet_req_free_sgls(&after);

	nvmet_req_free_sgls(&busy);
	done = wait_for_completion_timeout(&t->removed, 20 * HZ);
	KUNIT_EXPECT_TRUE(test, done);
	if (!done)
		wait_for_completion(&t->removed);	/* t must outlive it */
	t->group = NULL;
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(t->pdev));
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(t->pdev->p2pdma));

	/* Disabling the namespace afterwards is as usual. */
	nvmet_p2p_test_drop_map(t);
	KUNIT_EXPECT_NULL(test, nvmet_p2p_test_map(t));
}

/* Removed while idle: nothing to wait for, and new requests fall back. */
static void nvmet_p2p_test_removed_idle(struct kunit *test)
{
	struct nvmet_p2p_test *t = nvmet_p2p_test_or_skip(test);
	struct nvmet_p2p_map *map;
	struct nvmet_req req;

	nvmet_p2p_test_add_p2p(t);
	map = nvmet_p2p_test_map(t);
	KUNIT_ASSERT_NOT_NULL(test, map);
	KUNIT_ASSERT_EQ(test, nvmet_p2p_test_req(t, &req), 0);
	KUNIT_EXPECT_TRUE(test, nvmet_p2p_test_in_p2pmem(test, &req));
	nvmet_req_free_sgls(&req);

	devres_release_group(&t->pdev->dev, t->group);
	t->group = NULL;
	KUNIT_EXPECT_TRUE(test, READ_ONCE(map->gone));

	KUNIT_ASSERT_EQ(test, nvmet_p2p_test_req(t, &req), 0);
	KUNIT_EXPECT_NULL(test, req.p2p_dev);
	KUNIT_EXPECT_FALSE(test, nvmet_p2p_test_in_p2pmem(test, &req));
	nvmet_req_free_sgls(&req);
}

/*
 * The namespace is disabled first: its watch is gone with it, and the
 * provider's later removal must not call back into the freed map (KASAN
 * would say so in the debug kernel).
 */
static void nvmet_p2p_test_ns_disabled_first(struct kunit *test)
{
	struct nvmet_p2p_test *t = nvmet_p2p_test_or_skip(test);

	nvmet_p2p_test_add_p2p(t);
	KUNIT_ASSERT_NOT_NULL(test, nvmet_p2p_test_map(t));
	nvmet_p2p_test_drop_map(t);

	devres_release_group(&t->pdev->dev, t->group);
	t->group = NULL;
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(t->pdev));
}

static int nvmet_p2p_test_disabler(void *data)
{
	struct nvmet_p2p_test *t = data;

	nvmet_ns_disable(&t->ns);
	complete(&t->disabled);
	return 0;
}

/*
 * Can a request of the namespace still find it?  A disabled namespace
 * stays in the subsystem's array; a lookup checks its live flag.
 */
static bool nvmet_p2p_test_ns_found(struct nvmet_p2p_test *t)
{
	return test_bit(NVMET_NS_IO_LIVE, &t->ns.flags);
}

/* Make t->ns an enabled namespace of t->subsys, which t->ctrl is in. */
static void nvmet_p2p_test_enable_ns(struct kunit *test,
				     struct nvmet_p2p_test *t)
{
	struct nvmet_subsys *subsys = &t->subsys;

	t->ns.subsys = subsys;
	init_completion(&t->ns.disable_done);
	KUNIT_ASSERT_EQ(test, percpu_ref_init(&t->ns.ref, nvmet_destroy_namespace,
					      0, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, xa_insert(&subsys->namespaces, TEST_NSID, &t->ns,
					GFP_KERNEL), 0);
	subsys->nr_namespaces = 1;
	subsys->max_nsid = TEST_NSID;
	t->ns.enabled = true;
	xa_set_mark(&subsys->namespaces, TEST_NSID, NVMET_NS_ENABLED);
	set_bit(NVMET_NS_IO_LIVE, &t->ns.flags);
	/* What the disable's namespace-changed log needs of the controller. */
	mutex_init(&t->ctrl.lock);
	t->ctrl.changed_ns_list = kunit_kcalloc(test, NVME_MAX_CHANGED_NAMESPACES,
						sizeof(__le32), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->ctrl.changed_ns_list);
	list_add_tail(&t->ctrl.subsys_entry, &subsys->ctrls);
}

/*
 * The namespace is disabled while requests that found it are in flight.
 * The disable waits for them, and until then they get the namespace's
 * p2pmem as before: a request that found the namespace finds its map, and
 * the provider reference outlives every request of the namespace.
 */
static void nvmet_p2p_test_ns_disabled_in_use(struct kunit *test)
{
	struct nvmet_p2p_test *t = nvmet_p2p_test_or_skip(test);
	struct nvmet_req req, late;
	struct task_struct *task;
	unsigned int refs, ms;
	bool found = true, done;

	nvmet_p2p_test_enable_ns(test, t);
	nvmet_p2p_test_add_p2p(t);
	KUNIT_ASSERT_NOT_NULL(test, nvmet_p2p_test_map(t));

	/* A request in flight: it holds the namespace, and p2pmem. */
	percpu_ref_get(&t->ns.ref);
	KUNIT_ASSERT_EQ(test, nvmet_p2p_test_req(t, &req), 0);
	KUNIT_EXPECT_TRUE(test, nvmet_p2p_test_in_p2pmem(test, &req));
	/* And one that found the namespace just before the disable. */
	percpu_ref_get(&t->ns.ref);
	refs = kref_read(&t->pdev->dev.kobj.kref);

	task = kthread_run(nvmet_p2p_test_disabler, t, "nvmet-p2p-disable");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	for (ms = 0; ms < 30000 && found; ms += 20) {
		msleep(20);
		found = nvmet_p2p_test_ns_found(t);
	}
	/* Out of the lookups, the disable waits for the two requests. */
	KUNIT_EXPECT_FALSE(test, found);
	msleep(100);
	KUNIT_EXPECT_FALSE(test, completion_done(&t->disabled));

	/* The late one still gets the namespace's p2pmem, not system memory. */
	KUNIT_EXPECT_NOT_NULL(test, nvmet_p2p_test_map(t));
	KUNIT_ASSERT_EQ(test, nvmet_p2p_test_req(t, &late), 0);
	KUNIT_EXPECT_TRUE(test, nvmet_p2p_test_in_p2pmem(test, &late));
	KUNIT_EXPECT_PTR_EQ(test, late.p2p_dev, t->pdev);
	KUNIT_EXPECT_EQ(test, kref_read(&t->pdev->dev.kobj.kref), refs);

	/* The requests complete; then the disable finishes, and lets go. */
	nvmet_req_free_sgls(&late);
	percpu_ref_put(&t->ns.ref);
	nvmet_req_free_sgls(&req);
	percpu_ref_put(&t->ns.ref);
	done = wait_for_completion_timeout(&t->disabled, 10 * HZ);
	KUNIT_EXPECT_TRUE(test, done);
	if (!done)
		wait_for_completion(&t->disabled);	/* t must outlive it */
	KUNIT_EXPECT_NULL(test, nvmet_p2p_test_map(t));
	KUNIT_EXPECT_EQ(test, kref_read(&t->pdev->dev.kobj.kref), refs - 1);
}

/* A controller set up after the provider left gets no map at all. */
static void nvmet_p2p_test_provider_already_gone(struct kunit *test)
{
	struct nvmet_p2p_test *t = nvmet_p2p_test_or_skip(test);
	struct nvmet_req req;

	devres_release_group(&t->pdev->dev, t->group);
	t->group = NULL;
	nvmet_p2p_test_add_p2p(t);
	KUNIT_EXPECT_NULL(test, nvmet_p2p_test_map(t));

	KUNIT_ASSERT_EQ(test, nvmet_p2p_test_req(t, &req), 0);
	KUNIT_EXPECT_NULL(test, req.p2p_dev);
	nvmet_req_free_sgls(&req);
}

static struct kunit_case nvmet_p2p_test_cases[] = {
	KUNIT_CASE(nvmet_p2p_test_removed_while_in_use),
	KUNIT_CASE(nvmet_p2p_test_removed_idle),
	KUNIT_CASE(nvmet_p2p_test_ns_disabled_first),
	KUNIT_CASE(nvmet_p2p_test_ns_disabled_in_use),
	KUNIT_CASE(nvmet_p2p_test_provider_already_gone),
	{}
};

static struct kunit_suite nvmet_p2p_test_suite = {
	.name = "nvmet_p2pmem",
	.init = nvmet_p2p_test_init,
	.exit = nvmet_p2p_test_exit,
	.test_cases = nvmet_p2p_test_cases,
};

kunit_test_suite(nvmet_p2p_test_suite);
