// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmem_info - print and check the p2pmem sysfs attributes of a PCI device
 *
 * Usage: p2pmem_info BDF [EXPECTED_SIZE]
 *
 * Reads /sys/bus/pci/devices/BDF/p2pmem/{size,available,published} and
 * prints them on one line.  Exits 0 only if every attribute is a plain
 * decimal number followed by a newline, available <= size, published is 0
 * or 1 and, when EXPECTED_SIZE is given, size equals it.  Each violation is
 * reported on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_attr(const char *bdf, const char *name,
		     unsigned long long *val)
{
	char path[256], buf[64], *end;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/p2pmem/%s",
		 bdf, name);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';

	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (len < 2 || buf[0] < '0' || buf[0] > '9' || errno ||
	    strcmp(end, "\n")) {
		fprintf(stderr, "%s: not a decimal number and newline: '%s'\n",
			path, buf);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long size, avail, published, want;
	int bad = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s BDF [EXPECTED_SIZE]\n", argv[0]);
		return 2;
	}
	if (read_attr(argv[1], "size", &size) ||
	    read_attr(argv[1], "available", &avail) ||
	    read_attr(argv[1], "published", &published))
		return 1;

	printf("%s: size=%llu available=%llu published=%llu\n", argv[1], size,
	       avail, published);
	if (avail > size) {
		fprintf(stderr, "available %llu exceeds size %llu\n", avail, size);
		bad = 1;
	}
	if (published > 1) {
		fprintf(stderr, "published is %llu, not 0 or 1\n", published);
		bad = 1;
	}
	if (argc == 3) {
		want = strtoull(argv[2], NULL, 0);
		if (size != want) {
			fprintf(stderr, "size %llu, expected %llu\n", size, want);
			bad = 1;
		}
	}
	return bad;
}
