// SPDX-License-Identifier: GPL-2.0
/*
 * A test transport for nvmet's p2pmem, driven from debugfs in QEMU.  Test
 * kernels only: it writes to whatever namespace it is pointed at.
 *
 * No transport that QEMU offers can hold p2pmem (rdma_rxe is no PCI
 * device), so this file plays one whose DMA device is a PCI function the
 * test names.  Its commands take nvmet's own path: the connect that makes a
 * controller choose p2pmem per namespace, nvmet_req_init(),
 * nvmet_req_alloc_sgls(), the namespace's backend, nvmet_req_complete().
 * It uses the address of a configfs port of type "loop"; nvme-loop never
 * sees the controllers made here.
 *
 * /sys/kernel/debug/nvmet_p2pmem_e2e/ctrl
 *	write "connect PORTID SUBSYSNQN CLIENT" (CLIENT: a PCI device name)
 *	for a controller with an admin queue and one I/O queue, or
 *	"disconnect"; read back "cntlid=N client=NAME", or "none".
 *
 * /sys/kernel/debug/nvmet_p2pmem_e2e/io
 *	write "write|read NSID OFFSET BYTES SEED COUNT": COUNT commands,
 *	each moving BYTES at byte OFFSET of the namespace; the data written
 *	is the pseudo-random bytes of SEED, and the data read is compared
 *	with them.  The write fails with ENOTCONN once nvmet wants the
 *	controller gone, and with EINTR once the writer is killed.  Read
 *	back "done=N p2p=N status=0xS provider=NAME mismatches=N": the
 *	commands that succeeded, how many of those had every data page in
 *	p2pmem, the status of the last one that failed, the provider of the
 *	last p2pmem buffer ("none"), and the reads whose data differed.
 *
 * /sys/kernel/debug/nvmet_p2pmem_e2e/pattern
 *	write "BYTES SEED"; read back those pseudo-random bytes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": p2pmem_e2e: " fmt

#include <linux/debugfs.h>
#include <linux/memremap.h>
#include <linux/pci.h>
#include <linux/prandom.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>

#include "nvmet.h"

#define E2E_HOSTNQN	"nqn.2014-08.org.nvmexpress:p2pmem-e2e"
#define E2E_QUEUE_SIZE	32
#define E2E_MAX_BYTES	SZ_4M

struct e2e_queue {
	struct nvmet_sq sq;
	struct nvmet_cq cq;
	bool live;			/* between nvmet_sq_init() and _destroy() */
};

/* One command, sent and waited for by the thread that writes to debugfs. */
struct e2e_cmd {
	struct nvmet_req req;
	struct nvme_command cmd;
	struct nvme_completion cqe;
	struct completion done;
};

struct e2e_io_result {
	unsigned int done, p2p, mismatches;
	u16 status;
	char provider[32];
};

static struct {
	struct mutex lock;		/* serializes every field below */
	struct nvmet_port *port;	/* the borrowed configfs port */
	struct pci_dev *client;		/* our "transport's" DMA device */
	struct nvmet_ctrl *ctrl;	/* compared with, never dereferenced */
	struct nvmet_ctrl *doomed;	/* set by nvmet without the lock */
	u16 cntlid;
	struct e2e_queue admin, io;
	struct e2e_io_result last;
	void *pattern;
	size_t pattern_len;
	struct work_struct delete_work;
} e2e = {
	.lock = __MUTEX_INITIALIZER(e2e.lock),
};

static void e2e_queue_response(struct nvmet_req *req)
{
	complete(&container_of(req, struct e2e_cmd, req)->done);
}

/*
 * nvmet asks us to drop a controller (its subsystem was unlinked from the
 * port, or removed) with the subsystem's lock held; the teardown takes that
 * lock, so it runs from a work item.  On nvmet_wq, which the port's release
 * flushes: the port must outlive the controller that points to it.
 */
static void e2e_delete_ctrl(struct nvmet_ctrl *ctrl)
{
	WRITE_ONCE(e2e.doomed, ctrl);
	queue_work(nvmet_wq, &e2e.delete_work);
}

static const struct nvmet_fabrics_ops e2e_ops = {
	.owner		= THIS_MODULE,
	.type		= NVMF_TRTYPE_LOOP,
	.queue_response	= e2e_queue_response,
	.delete_ctrl	= e2e_delete_ctrl,
};

static struct e2e_cmd *e2e_cmd_alloc(void)
{
	struct e2e_cmd *c = kzalloc_obj(*c);

	if (c)
		init_completion(&c->done);
	return c;
}

static u16 e2e_status(struct e2e_cmd *c)
{
	return le16_to_cpu(c->cqe.status) >> 1;
}

/*
 * Hands @c to nvmet for parsing on @q.  False when nvmet refused it; it has
 * then completed the command already, with its status.
 */
static bool e2e_cmd_init(struct e2e_cmd *c, struct e2e_queue *q)
{
	c->cmd.common.flags = NVME_CMD_SGL_METABUF;
	c->req.cmd = &c->cmd;
	c->req.cqe = &c->cqe;
	c->req.port = e2e.port;
	c->req.p2p_client = &e2e.client->dev;
	if (nvmet_req_init(&c->req, &q->sq, &e2e_ops))
		return true;
	wait_for_completion(&c->done);
	return false;
}

/* Runs a command that nvmet_req_init() took, once its data is in place. */
static u16 e2e_cmd_execute(struct e2e_cmd *c)
{
	c->req.execute(&c->req);
	wait_for_completion(&c->done);
	return e2e_status(c);
}

/* Completes a command that nvmet_req_init() took without running it. */
static u16 e2e_cmd_abort(struct e2e_cmd *c, u16 status)
{
	nvmet_req_complete(&c->req, status);
	wait_for_completion(&c->done);
	return status;
}

/* The fabrics Connect of queue @qid; @cntlid is 0xffff for the admin one. */
static u16 e2e_connect_queue(struct e2e_queue *q, u16 qid, const char *nqn,
			     u16 cntlid, u32 *result)
{
	struct nvmf_connect_data *d;
	struct scatterlist sg;
	struct e2e_cmd *c;
	u16 status = NVME_SC_INTERNAL;

	memset(q, 0, sizeof(*q));
	nvmet_cq_init(&q->cq);
	if (nvmet_sq_init(&q->sq, &q->cq)) {
		nvmet_cq_put(&q->cq);
		return status;
	}
	q->live = true;

	c = e2e_cmd_alloc();
	d = kzalloc_obj(*d);
	if (!c || !d)
		goto out;
	d->cntlid = cpu_to_le16(cntlid);
	strscpy(d->subsysnqn, nqn, sizeof(d->subsysnqn));
	strscpy(d->hostnqn, E2E_HOSTNQN, sizeof(d->hostnqn));

	c->cmd.connect.opcode = nvme_fabrics_command;
	c->cmd.connect.fctype = nvme_fabrics_type_connect;
	c->cmd.connect.qid = cpu_to_le16(qid);
	c->cmd.connect.sqsize = cpu_to_le16(E2E_QUEUE_SIZE - 1);
	if (!e2e_cmd_init(c, q)) {
		status = e2e_status(c);
		goto out;
	}
	sg_init_one(&sg, d, sizeof(*d));
	c->req.sg = &sg;
	c->req.sg_cnt = 1;
	c->req.transfer_len = sizeof(*d);
	status = e2e_cmd_execute(c);
	*result = le32_to_cpu(c->cqe.result.u32);
out:
	kfree(d);
	kfree(c);
	return status;
}

/* CC.EN, as a host enables the controller before any I/O. */
static u16 e2e_enable_ctrl(void)
{
	struct e2e_cmd *c = e2e_cmd_alloc();
	u16 status;

	if (!c)
		return NVME_SC_INTERNAL;
	c->cmd.prop_set.opcode = nvme_fabrics_command;
	c->cmd.prop_set.fctype = nvme_fabrics_type_property_set;
	c->cmd.prop_set.offset = cpu_to_le32(NVME_REG_CC);
	c->cmd.prop_set.value = cpu_to_le64(NVME_CC_ENABLE | NVME_CC_IOSQES |
					    NVME_CC_IOCQES);
	status = e2e_cmd_init(c, &e2e.admin) ? e2e_cmd_execute(c) :
		 e2e_status(c);
	kfree(c);
	return status;
}

static void e2e_disconnect(void)
{
	/* The I/O queue first: it holds a reference to the controller too. */
	if (e2e.io.live) {
		nvmet_sq_destroy(&e2e.io.sq);
		nvmet_cq_put(&e2e.io.cq);
	}
	if (e2e.admin.live) {
		nvmet_sq_destroy(&e2e.admin.sq);
		nvmet_cq_put(&e2e.admin.cq);
	}
	e2e.io.live = false;
	e2e.admin.live = false;
	e2e.ctrl = NULL;
	WRITE_ONCE(e2e.doomed, NULL);
	e2e.port = NULL;
	pci_dev_put(e2e.client);
	e2e.client = NULL;
}

static void e2e_delete_work(struct work_struct *work)
{
	mutex_lock(&e2e.lock);
	if (e2e.ctrl && e2e.ctrl == READ_ONCE(e2e.doomed)) {
		pr_info("ctrl %d deleted by nvmet\n", e2e.cntlid);
		e2e_disconnect();
	}
	mutex_unlock(&e2e.lock);
}

static struct nvmet_port *e2e_find_port(u16 portid)
{
	struct nvmet_port *port, *found = NULL;

	down_read(&nvmet_config_sem);
	list_for_each_entry(port, nvmet_ports, global_entry) {
		if (le16_to_cpu(port->disc_addr.portid) == portid &&
		    port->enabled) {
			found = port;
			break;
		}
	}
	up_read(&nvmet_config_sem);
	return found;
}

static int e2e_connect(u16 portid, const char *nqn, const char *client)
{
	struct device *dev;
	u32 result = 0;
	u16 status;

	if (e2e.client)
		return -EBUSY;
	e2e.port = e2e_find_port(portid);
	if (!e2e.port)
		return -ENOENT;
	dev = bus_find_device_by_name(&pci_bus_type, NULL, client);
	if (!dev)
		return -ENODEV;
	e2e.client = to_pci_dev(dev);

	status = e2e_connect_queue(&e2e.admin, 0, nqn, 0xffff, &result);
	if (!status) {
		e2e.ctrl = e2e.admin.sq.ctrl;
		e2e.cntlid = result & 0xffff;
		status = e2e_enable_ctrl();
	}
	if (!status)
		status = e2e_connect_queue(&e2e.io, 1, nqn, e2e.cntlid, &result);
	if (status) {
		pr_err("connect to %s failed: status %#x\n", nqn, status);
		e2e_disconnect();
		return -EIO;
	}
	return 0;
}

static bool e2e_sgl_is_p2pmem(struct nvmet_req *req)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(req->sg, sg, req->sg_cnt, i)
		if (!is_pci_p2pdma_page(sg_page(sg)))
			return false;
	return req->sg_cnt > 0;
}

/*
 * One read or write of @bytes at byte @offset; the data buffer is the one
 * nvmet_req_alloc_sgls() picks, as a transport's would be.  Writes send
 * @pattern, reads leave what they got in @buf.
 */
static u16 e2e_rw(u8 opcode, u32 nsid, u64 offset, u32 bytes,
		  const void *pattern, void *buf, struct e2e_io_result *r)
{
	struct e2e_cmd *c = e2e_cmd_alloc();
	struct nvmet_req *req;
	u8 shift;
	u16 status;

	if (!c)
		return NVME_SC_INTERNAL;
	req = &c->req;
	c->cmd.rw.opcode = opcode;
	c->cmd.rw.nsid = cpu_to_le32(nsid);
	if (!e2e_cmd_init(c, &e2e.io)) {
		status = e2e_status(c);
		goto out;
	}
	/* The LBA format, which a host knows from Identify Namespace. */
	shift = req->ns->blksize_shift;
	c->cmd.rw.slba = cpu_to_le64(offset >> shift);
	c->cmd.rw.length = cpu_to_le16((bytes >> shift) - 1);
	req->transfer_len = bytes;
	if (nvmet_req_alloc_sgls(req)) {
		status = e2e_cmd_abort(c, NVME_SC_INTERNAL);
		goto out;
	}
	status = opcode == nvme_cmd_write ?
		 nvmet_copy_to_sgl(req, 0, pattern, bytes) : 0;
	status = status ? e2e_cmd_abort(c, status) : e2e_cmd_execute(c);
	if (!status && opcode == nvme_cmd_read)
		status = nvmet_copy_from_sgl(req, 0, buf, bytes);
	if (!status) {
		r->done++;
		r->p2p += e2e_sgl_is_p2pmem(req);
	}
	if (req->p2p_dev)
		strscpy(r->provider, pci_name(req->p2p_dev),
			sizeof(r->provider));
	nvmet_req_free_sgls(req);
out:
	kfree(c);
	return status;
}

static void *e2e_pattern(size_t bytes, u64 seed)
{
	struct rnd_state state;
	void *buf = kvmalloc(bytes, GFP_KERNEL);

	if (buf) {
		prandom_seed_state(&state, seed);
		prandom_bytes_state(&state, buf, bytes);
	}
	return buf;
}

static bool e2e_io_args_valid(u64 offset, u32 bytes, u32 count)
{
	return bytes && bytes <= E2E_MAX_BYTES && count &&
	       IS_ALIGNED(bytes, SZ_4K) && IS_ALIGNED(offset, SZ_4K);
}

static int e2e_io(u8 opcode, u32 nsid, u64 offset, u32 bytes, u64 seed,
		  u32 count)
{
	struct e2e_io_result *r = &e2e.last;
	void *pattern, *buf = NULL;
	int ret = 0;
	u16 status;

	/* Once nvmet wants the controller gone, its port may go too. */
	if (!e2e.client || READ_ONCE(e2e.doomed) == e2e.ctrl)
		return -ENOTCONN;
	if (!e2e_io_args_valid(offset, bytes, count))
		return -EINVAL;
	pattern = e2e_pattern(bytes, seed);
	if (opcode == nvme_cmd_read)
		buf = kvmalloc(bytes, GFP_KERNEL);
	if (!pattern || (opcode == nvme_cmd_read && !buf)) {
		kvfree(pattern);
		return -ENOMEM;
	}

	memset(r, 0, sizeof(*r));
	strscpy(r->provider, "none", sizeof(r->provider));
	while (count--) {
		/*
		 * nvmet deletes a controller its port dropped in a work that
		 * takes e2e.lock, which this holds: stop for it, and when
		 * killed, however many commands were asked for.
		 */
		if (READ_ONCE(e2e.doomed) == e2e.ctrl) {
			ret = -ENOTCONN;
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		status = e2e_rw(opcode, nsid, offset, bytes, pattern, buf, r);
		if (status)
			r->status = status;
		else if (buf && memcmp(buf, pattern, bytes))
			r->mismatches++;
		cond_resched();
	}
	kvfree(buf);
	kvfree(pattern);
	return ret;
}

static ssize_t e2e_ctrl_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	char cmd[16], nqn[NVMF_NQN_SIZE], client[32];
	char *kbuf;
	u16 portid;
	int ret = -EINVAL;

	kbuf = memdup_user_nul(ubuf, min_t(size_t, len, 512));
	if (IS_ERR(kbuf))
		return PTR_ERR(kbuf);
	mutex_lock(&e2e.lock);
	if (sscanf(kbuf, "%15s", cmd) != 1)
		goto out;
	if (!strcmp(cmd, "disconnect")) {
		ret = e2e.client ? 0 : -ENOTCONN;
		e2e_disconnect();
	} else if (!strcmp(cmd, "connect") &&
		   sscanf(kbuf, "%*s %hu %222s %31s", &portid, nqn, client) == 3) {
		ret = e2e_connect(portid, nqn, client);
	}
out:
	mutex_unlock(&e2e.lock);
	kfree(kbuf);
	return ret ?: len;
}

static ssize_t e2e_ctrl_read(struct file *file, char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char text[64];
	int n;

	mutex_lock(&e2e.lock);
	if (e2e.client)
		n = scnprintf(text, sizeof(text), "cntlid=%u client=%s\n",
			      e2e.cntlid, pci_name(e2e.client));
	else
		n = scnprintf(text, sizeof(text), "none\n");
	mutex_unlock(&e2e.lock);
	return simple_read_from_buffer(ubuf, len, ppos, text, n);
}

static ssize_t e2e_io_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	u32 nsid, bytes, count;
	u64 offset, seed;
	char op[8], *kbuf;
	int ret = -EINVAL;

	kbuf = memdup_user_nul(ubuf, min_t(size_t, len, 128));
	if (IS_ERR(kbuf))
		return PTR_ERR(kbuf);
	mutex_lock(&e2e.lock);
	if (sscanf(kbuf, "%7s %u %llu %u %llu %u", op, &nsid, &offset, &bytes,
		   &seed, &count) != 6)
		goto out;
	if (!strcmp(op, "write"))
		ret = e2e_io(nvme_cmd_write, nsid, offset, bytes, seed, count);
	else if (!strcmp(op, "read"))
		ret = e2e_io(nvme_cmd_read, nsid, offset, bytes, seed, count);
out:
	mutex_unlock(&e2e.lock);
	kfree(kbuf);
	return ret ?: len;
}

static ssize_t e2e_io_read(struct file *file, char __user *ubuf, size_t len,
			   loff_t *ppos)
{
	struct e2e_io_result *r = &e2e.last;
	char text[128];
	int n;

	mutex_lock(&e2e.lock);
	n = scnprintf(text, sizeof(text),
		      "done=%u p2p=%u status=0x%x provider=%s mismatches=%u\n",
		      r->done, r->p2p, r->status, r->provider, r->mismatches);
	mutex_unlock(&e2e.lock);
	return simple_read_from_buffer(ubuf, len, ppos, text, n);
}

static ssize_t e2e_pattern_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	char *kbuf;
	void *pattern;
	u32 bytes;
	u64 seed;
	int ret = -EINVAL;

	kbuf = memdup_user_nul(ubuf, min_t(size_t, len, 64));
	if (IS_ERR(kbuf))
		return PTR_ERR(kbuf);
	if (sscanf(kbuf, "%u %llu", &bytes, &seed) != 2 ||
	    !e2e_io_args_valid(0, bytes, 1))
		goto out;
	ret = -ENOMEM;
	pattern = e2e_pattern(bytes, seed);
	if (!pattern)
		goto out;
	mutex_lock(&e2e.lock);
	kvfree(e2e.pattern);
	e2e.pattern = pattern;
	e2e.pattern_len = bytes;
	mutex_unlock(&e2e.lock);
	ret = 0;
out:
	kfree(kbuf);
	return ret ?: len;
}

static ssize_t e2e_pattern_read(struct file *file, char __user *ubuf,
				size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&e2e.lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, e2e.pattern,
				      e2e.pattern_len);
	mutex_unlock(&e2e.lock);
	return ret;
}

static const struct file_operations e2e_ctrl_fops = {
	.write	= e2e_ctrl_write,
	.read	= e2e_ctrl_read,
	.llseek	= default_llseek,
};

static const struct file_operations e2e_io_fops = {
	.write	= e2e_io_write,
	.read	= e2e_io_read,
	.llseek	= default_llseek,
};

static const struct file_operations e2e_pattern_fops = {
	.write	= e2e_pattern_write,
	.read	= e2e_pattern_read,
	.llseek	= default_llseek,
};

static int __init nvmet_p2pmem_e2e_init(void)
{
	struct dentry *dir = debugfs_create_dir("nvmet_p2pmem_e2e", NULL);

	INIT_WORK(&e2e.delete_work, e2e_delete_work);
	debugfs_create_file("ctrl", 0600, dir, NULL, &e2e_ctrl_fops);
	debugfs_create_file("io", 0600, dir, NULL, &e2e_io_fops);
	debugfs_create_file("pattern", 0600, dir, NULL, &e2e_pattern_fops);
	return 0;
}
late_initcall(nvmet_p2pmem_e2e_init);
