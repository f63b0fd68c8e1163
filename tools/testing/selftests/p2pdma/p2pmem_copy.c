// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmem_copy - copy between block devices through a p2pmem buffer
 *
 * Usage: p2pmem_copy [-t THREADS] [-s] [-T] [-d DEVICE] [-o OFFSET] BDF SRC DST BYTES [CHUNK]
 *
 * Maps CHUNK bytes (default 1 MiB, a multiple of the page size) of the PCI
 * peer-to-peer memory of device BDF from /sys/bus/pci/devices/BDF/p2pmem/
 * allocate and copies the first BYTES bytes (a multiple of 512) of block
 * device SRC to block device DST with O_DIRECT pread() and pwrite() on that
 * buffer, so that the data moves by P2P DMA.  BYTES and CHUNK take an
 * optional K, M or G suffix.  With -t, THREADS threads (1 to 64, default 1)
 * each map their own CHUNK buffer and copy every THREADS-th chunk.  With -s
 * the buffers are system memory instead (the same copy, for comparison:
 * "available" must then not move at all); -T adds " ns=ELAPSED" to the
 * success line, the copy's wall-clock time (make bench uses it).  With -d
 * the buffers are mapped from DEVICE, BDF's /dev/p2pmemN, instead of from
 * p2pmem/allocate.  With -o the copy is written OFFSET bytes (a multiple of
 * 512, with the same suffixes) into DST, which may then be SRC itself.
 *
 * The p2pmem "available" attribute must drop by exactly THREADS * CHUNK
 * once the buffers are mapped and must be back to its old value after they
 * are unmapped.
 *
 * Output and exit codes:
 *   0  success, prints "copied=BYTES chunks=NUMBER_OF_CHUNKS" on stdout
 *   1  a system call failed: prints "error=-ERRNO" on stdout (for example
 *      "error=-121" for EREMOTEIO) and a description on stderr; an early
 *      end of SRC counts as ENODATA, a zero-byte write as ENOSPC and a
 *      transfer that stops inside a sector as EIO.  Also exit 1, with a
 *      description on stderr only, when "available" cannot be read or
 *      has a wrong value.
 *   2  bad arguments, usage on stderr
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "p2pdma_test.h"

#define SECTOR_SIZE	512ULL
#define DEFAULT_CHUNK	(1024ULL * 1024)
#define MAX_THREADS	64

struct copy_job {
	const char *bdf;
	const char *src_path;
	const char *dst_path;
	unsigned long long bytes;
	unsigned long long chunk;
	unsigned long long nchunks;
	unsigned int nthreads;
	int sysmem;		/* -s: system-memory buffers */
	int timed;		/* -T: report the elapsed time */
	const char *map_path;	/* -d DEVICE, or BDF's p2pmem/allocate */
	unsigned long long dst_off;	/* -o OFFSET: where in DST to write */
	int src_fd;
	int dst_fd;
	pthread_mutex_t lock;
	int err;		/* first errno seen, 0 while all is well */
};

struct worker {
	struct copy_job *job;
	unsigned int index;
	void *buf;
	pthread_t thread;
};

static void bad_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-t THREADS] [-s] [-T] [-d DEVICE] [-o OFFSET] BDF SRC DST BYTES [CHUNK]\n"
		"  BYTES: multiple of 512; CHUNK: multiple of the page size,\n"
		"  default 1M; both take a K, M or G suffix; THREADS: 1-%d\n",
		prog, MAX_THREADS);
	exit(2);
}

/* Parse a positive decimal number with an optional K, M or G suffix. */
static int parse_size(const char *s, unsigned long long *val)
{
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*val = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'K')
		shift = 10;
	else if (*end == 'M')
		shift = 20;
	else if (*end == 'G')
		shift = 30;
	if (shift)
		end++;
	if (*end || *val == 0 || *val > (ULLONG_MAX >> shift))
		return -1;
	*val <<= shift;
	return 0;
}

static void parse_args(int argc, char **argv, struct copy_job *job)
{
	unsigned long long page = sysconf(_SC_PAGESIZE), threads = 1;
	const char *prog = argv[0];
	int opt;

	job->chunk = DEFAULT_CHUNK;
	/* "+": options are only accepted before the positional arguments */
	while ((opt = getopt(argc, argv, "+t:sTd:o:")) != -1) {
		if (opt == 's') {
			job->sysmem = 1;
		} else if (opt == 'T') {
			job->timed = 1;
		} else if (opt == 'd') {
			job->map_path = optarg;
		} else if (opt == 'o') {
			if (parse_size(optarg, &job->dst_off) ||
			    job->dst_off % SECTOR_SIZE)
				bad_usage(prog);
		} else if (opt != 't' || parse_size(optarg, &threads) ||
			   threads > MAX_THREADS) {
			bad_usage(prog);
		}
	}
	argv += optind;
	argc -= optind;
	if (argc < 4 || argc > 5 || parse_size(argv[3], &job->bytes) ||
	    (argc == 5 && parse_size(argv[4], &job->chunk)))
		bad_usage(prog);
	if (job->bytes % SECTOR_SIZE) {
		fprintf(stderr, "BYTES %llu is not a multiple of %llu\n",
			job->bytes, SECTOR_SIZE);
		bad_usage(prog);
	}
	if (job->chunk % page) {
		fprintf(stderr, "CHUNK %llu is not a multiple of the page size %llu\n",
			job->chunk, page);
		bad_usage(prog);
	}
	job->bdf = argv[0];
	job->src_path = argv[1];
	job->dst_path = argv[2];
	job->nthreads = threads;
	job->nchunks = (job->bytes + job->chunk - 1) / job->chunk;
}

/* Record the first error only: it is the one that caused the others. */
__printf(3, 4)
static void job_fail(struct copy_job *job, int err, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&job->lock);
	if (!job->err) {
		job->err = err;
		fprintf(stderr, "p2pmem_copy: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, ": %s\n", strerror(err));
	}
	pthread_mutex_unlock(&job->lock);
}

static int job_failed(struct copy_job *job)
{
	int err;

	pthread_mutex_lock(&job->lock);
	err = job->err;
	pthread_mutex_unlock(&job->lock);
	return err;
}

/* Turn a failed or malformed pread()/pwrite() result into the job error. */
static void transfer_failed(struct copy_job *job, int writing, ssize_t n,
			    unsigned long long off)
{
	const char *path = writing ? job->dst_path : job->src_path;

	if (n < 0)
		job_fail(job, errno, "%s %s at offset %llu",
			 writing ? "pwrite" : "pread", path, off);
	else if (n == 0)
		job_fail(job, writing ? ENOSPC : ENODATA,
			 "%s ends at offset %llu", path, off);
	else
		job_fail(job, EIO, "%s: %zd bytes transferred at offset %llu",
			 path, n, off);
}

/*
 * Move len bytes between buf and SRC (reading) or DST (writing) at offset
 * off.  O_DIRECT may stop early at a sector boundary, so short transfers
 * are continued, but one that ends inside a sector is a kernel bug.
 */
static int transfer(struct copy_job *job, int writing, char *buf,
		    size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (writing)
			n = pwrite(job->dst_fd, buf + done, len - done,
				   job->dst_off + off + done);
		else
			n = pread(job->src_fd, buf + done, len - done,
				  off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || n % SECTOR_SIZE) {
			transfer_failed(job, writing, n, off + done);
			return -1;
		}
		done += n;
	}
	return 0;
}

/* Thread body: copy chunks index, index + nthreads, ... until one fails. */
static void *copy_chunks(void *arg)
{
	struct worker *w = arg;
	struct copy_job *job = w->job;
	unsigned long long i, off, len;

	for (i = w->index; i < job->nchunks; i += job->nthreads) {
		if (job_failed(job))
			break;
		off = i * job->chunk;
		len = job->bytes - off;
		if (len > job->chunk)
			len = job->chunk;
		if (transfer(job, 0, w->buf, len, off) ||
		    transfer(job, 1, w->buf, len, off))
			break;
	}
	return NULL;
}

/* @when names the moment in errors: a run's checks differ by moment. */
static int read_available(const char *bdf, unsigned long long *val,
			  const char *when)
{
	char path[256], buf[64], *end;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/p2pmem/available",
		 bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "%s %s: %s\n", path, when, strerror(errno));
		return -1;
	}
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0) {
		fprintf(stderr, "%s %s: %s\n", path, when, strerror(errno));
		return -1;
	}
	buf[len] = '\0';
	*val = strtoull(buf, &end, 10);
	if (end == buf || strcmp(end, "\n")) {
		fprintf(stderr, "%s %s: not a number: '%s'\n", path, when,
			buf);
		return -1;
	}
	return 0;
}

static int check_available(const char *bdf, unsigned long long want,
			   const char *when)
{
	unsigned long long avail;

	if (read_available(bdf, &avail, when))
		return -1;
	if (avail != want) {
		fprintf(stderr, "available is %llu %s, expected %llu\n", avail,
			when, want);
		return -1;
	}
	return 0;
}

/* -s: page-aligned system memory, as O_DIRECT wants it. */
static unsigned int alloc_sysmem_buffers(struct copy_job *job, struct worker *w)
{
	unsigned int i;
	int err;

	for (i = 0; i < job->nthreads; i++) {
		err = posix_memalign(&w[i].buf, sysconf(_SC_PAGESIZE), job->chunk);
		if (err) {
			job_fail(job, err, "allocate %llu bytes", job->chunk);
			break;
		}
	}
	return i;
}

/* Give every worker its own CHUNK of p2pmem; returns how many got one. */
static unsigned int map_buffers(struct copy_job *job, struct worker *w)
{
	const char *path = job->map_path;
	char allocate[256];
	unsigned int i;
	int fd;

	if (job->sysmem)
		return alloc_sysmem_buffers(job, w);

	if (!path) {
		snprintf(allocate, sizeof(allocate),
			 "/sys/bus/pci/devices/%s/p2pmem/allocate", job->bdf);
		path = allocate;
	}
	fd = open(path, O_RDWR);
	if (fd < 0) {
		job_fail(job, errno, "open %s", path);
		return 0;
	}
	for (i = 0; i < job->nthreads; i++) {
		w[i].buf = mmap(NULL, job->chunk, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, 0);
		if (w[i].buf == MAP_FAILED) {
			job_fail(job, errno, "mmap %llu bytes of %s",
				 job->chunk, path);
			break;
		}
	}
	/* the mappings keep the file open */
	close(fd);
	return i;
}

static void run_workers(struct copy_job *job, struct worker *w)
{
	unsigned int i, started;
	int err;

	for (started = 0; started < job->nthreads; started++) {
		w[started].job = job;
		w[started].index = started;
		err = pthread_create(&w[started].thread, NULL, copy_chunks,
				     &w[started]);
		if (err) {
			job_fail(job, err, "pthread_create");
			break;
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
}

static int open_devices(struct copy_job *job)
{
	job->src_fd = open(job->src_path, O_RDONLY | O_DIRECT);
	if (job->src_fd < 0) {
		job_fail(job, errno, "open %s", job->src_path);
		return -1;
	}
	job->dst_fd = open(job->dst_path, O_WRONLY | O_DIRECT);
	if (job->dst_fd < 0) {
		job_fail(job, errno, "open %s", job->dst_path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct copy_job job = { .lock = PTHREAD_MUTEX_INITIALIZER };
	static struct worker workers[MAX_THREADS];
	unsigned long long before, in_use, ns = 0;
	struct timespec t0, t1;
	unsigned int i, mapped;
	int bad = 0;

	parse_args(argc, argv, &job);
	if (read_available(job.bdf, &before, "before the copy"))
		return 1;
	if (open_devices(&job) == 0) {
		mapped = map_buffers(&job, workers);
		/* every mapping must take exactly its length from the pool */
		in_use = job.sysmem ? 0 : job.chunk * mapped;
		if (check_available(job.bdf, before - in_use, "after mmap")) {
			bad = 1;
		} else if (!job.err) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			run_workers(&job, workers);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ns = (t1.tv_sec - t0.tv_sec) * 1000000000ULL +
			     t1.tv_nsec - t0.tv_nsec;
		}
		for (i = 0; i < mapped; i++) {
			if (job.sysmem)
				free(workers[i].buf);
			else
				munmap(workers[i].buf, job.chunk);
		}
		if (check_available(job.bdf, before, "after munmap"))
			bad = 1;
	}

	if (job.err) {
		printf("error=-%d\n", job.err);
		return 1;
	}
	if (bad)
		return 1;
	printf("copied=%llu chunks=%llu", job.bytes, job.nchunks);
	if (job.timed)
		printf(" ns=%llu", ns);
	printf("\n");
	return 0;
}
