/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the p2pdma selftests share: their report lines, the clock, the
 * probe for a signal on access, and the p2pmem dma-buf export.
 *
 * Each program is built on its own, static, from its one .c file
 * (scripts/mkinitramfs), so the helpers are defined here, all static: a
 * program pays nothing for those it does not call.
 */
#ifndef P2PDMA_TEST_H
#define P2PDMA_TEST_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <linux/p2pmem.h>

/* userspace has no <linux/compiler_attributes.h> */
#ifndef __printf
#define __printf(a, b)	__attribute__((__format__(printf, a, b)))
#endif

/* Set once a check failed: what such a program exits with. */
static int failed;

/*
 * report - one line for a check: "ok - WHAT" or "not ok - WHAT", which
 * tests/guest/lib.sh counts.  Flushed, so that it comes before whatever
 * a child process prints next.
 */
__printf(2, 3)
static inline void report(int ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "ok - " : "not ok - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failed = 1;
}

/* die - a call that failed with errno set, and nothing left to check. */
static inline void die(const char *what)
{
	report(0, "%s: %s", what, strerror(errno));
	exit(1);
}

/* now_seconds - the monotonic clock, in seconds. */
static inline double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Whether an access to a mapping raises a signal, and which: a revoked
 * p2pmem mapping must raise SIGBUS, a refused one SIGSEGV.  The handler
 * jumps back to the access, so one program can probe many pages.
 */
static sigjmp_buf access_env;

static inline void on_access_signal(int sig)
{
	siglongjmp(access_env, sig);
}

/* catch_access_signals - let access_signal() see SIGBUS and SIGSEGV. */
static inline void catch_access_signals(void)
{
	struct sigaction sa = { .sa_handler = on_access_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/*
 * access_signal - read (or, if @writing, write) the byte at @p.
 * Return: the signal the access raised, or 0 if it raised none.
 *
 * The accesses are atomic only so that the compiler can neither drop them
 * nor merge them with others.
 */
static inline int access_signal(unsigned char *p, int writing)
{
	int sig = sigsetjmp(access_env, 1);

	if (sig)
		return sig;
	if (writing)
		__atomic_store_n(p, 0x5a, __ATOMIC_RELAXED);
	else
		(void)__atomic_load_n(p, __ATOMIC_RELAXED);
	return 0;
}

#ifdef P2PMEM_IOC_EXPORT_DMABUF
/*
 * p2pmem_export - a dma-buf of @size bytes from the p2pmem node @node,
 * opened with @flags (O_RDWR, O_CLOEXEC).
 * Return: its fd, or -1 with errno set.
 */
static inline int p2pmem_export(int node, uint64_t size, unsigned int flags)
{
	struct p2pmem_export_dmabuf arg = {
		.size = size,
		.flags = flags,
		.fd = -1,
	};

	if (ioctl(node, P2PMEM_IOC_EXPORT_DMABUF, &arg))
		return -1;
	/* A success without a descriptor is a kernel bug, never a refusal. */
	if (arg.fd < 0) {
		errno = EPROTO;
		return -1;
	}
	return arg.fd;
}
#endif

#endif /* P2PDMA_TEST_H */
