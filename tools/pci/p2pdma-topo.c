// SPDX-License-Identifier: GPL-2.0
/*
 * p2pdma-topo - which PCI devices can do peer-to-peer DMA with which
 *
 * Reads the PCI tree from sysfs, the P2PDMA providers from their p2pmem/
 * directories, and the kernel's verdict on every provider-client path from
 * debugfs (/sys/kernel/debug/p2pdma/<bdf>/paths), then prints, for every
 * provider and every other device that is not a bridge, whether P2P works,
 * the distance, the map type and the reason when it does not.  With --dot
 * it prints the tree as Graphviz instead, providers filled in and the
 * allowed paths as dashed edges.
 *
 * The verdicts are the kernel's own: the rules are not redone here, so the
 * tool cannot disagree with what the framework will allow.  Without
 * debugfs (not root, not mounted) it still shows the tree and the
 * providers and says why the paths are unknown.
 *
 * Usage: p2pdma-topo [--dot] [--sysfs DIR] [--debugfs DIR]
 * Exit status: 0, 1 if the PCI devices cannot be listed at all, 2 on a
 * bad command line.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DEVS	1024
#define PATH_COLOR	"#31a354"	/* allowed P2P paths in --dot */
#define LINE_MAX_LEN	512

struct pdev {
	char bdf[32];		/* 0000:02:00.0 */
	char parent[32];	/* bdf of the bridge above, or the host bridge */
	char driver[64];
	unsigned int class;
	bool bridge;
	bool provider;		/* has p2pmem/ */
	long long size, avail;	/* bytes, -1 if unreadable */
	int published;		/* 0, 1, or -1 if unreadable */
};

struct path {
	int prov, client;	/* indexes into devs[] */
	char map[32];
	int distance;
	char probed[40];	/* <client-writes>/<client-reads> verdicts */
	char reason[LINE_MAX_LEN];
};

static struct pdev devs[MAX_DEVS];
static int ndevs;
static struct path *paths;
static int npaths;
static const char *sysfs = "/sys";
static const char *debugfs = "/sys/kernel/debug";

static void complain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("p2pdma-topo: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* First line of a sysfs file, without its newline; false if unreadable. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f);
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static long long read_number(const char *path)
{
	char buf[64], *end;
	long long v;

	if (!read_line(path, buf, sizeof(buf)))
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 0);
	if (errno || end == buf || v < 0)
		return -1;
	return v;
}

/* Does @s look like a PCI address, 0000:00:00.0? */
/* Is @i the first device below its parent, as listed? */
static bool first_below_parent(int i)
{
	int j;

	for (j = 0; j < i; j++)
		if (!strcmp(devs[j].parent, devs[i].parent))
			return false;
	return true;
}

static bool is_bdf(const char *s)
{
	unsigned int d, b, dev, fn;
	char tail;

	return sscanf(s, "%x:%x:%x.%x%c", &d, &b, &dev, &fn, &tail) == 4;
}

static void load_device(const char *name)
{
	char path[PATH_MAX], real[PATH_MAX], buf[LINE_MAX_LEN];
	struct pdev *d = &devs[ndevs];
	char *slash, *up;
	ssize_t n;

	memset(d, 0, sizeof(*d));
	snprintf(d->bdf, sizeof(d->bdf), "%.31s", name);
	d->size = -1;
	d->avail = -1;
	d->published = -1;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs, name);
	if (!realpath(path, real)) {
		complain("%s: %s; shown below the host bridge", path, strerror(errno));
		snprintf(d->parent, sizeof(d->parent), "host");
	} else {
		/* .../pci0000:00/0000:00:02.0/0000:01:00.0: the parent is the
		 * path component above, a bridge or the host bridge.
		 */
		slash = strrchr(real, '/');
		if (slash)
			*slash = '\0';
		up = strrchr(real, '/');
		up = up ? up + 1 : real;
		/* Anything else than a bridge or a host bridge: not sysfs. */
		if (!is_bdf(up) && strncmp(up, "pci", 3))
			up = "host";
		snprintf(d->parent, sizeof(d->parent), "%.31s", up);
	}

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/class", sysfs, name);
	if (read_line(path, buf, sizeof(buf)))
		d->class = strtoul(buf, NULL, 0);
	d->bridge = (d->class >> 8) == 0x0604;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", sysfs, name);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		slash = strrchr(buf, '/');
		snprintf(d->driver, sizeof(d->driver), "%.63s", slash ? slash + 1 : buf);
	}

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/p2pmem", sysfs, name);
	if (access(path, F_OK) == 0) {
		d->provider = true;
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/p2pmem/size",
			 sysfs, name);
		d->size = read_number(path);
		snprintf(path, sizeof(path),
			 "%s/bus/pci/devices/%s/p2pmem/available", sysfs, name);
		d->avail = read_number(path);
		snprintf(path, sizeof(path),
			 "%s/bus/pci/devices/%s/p2pmem/published", sysfs, name);
		d->published = (int)read_number(path);
		if (d->size < 0)
			complain("%s: p2pmem/size is unreadable", name);
	}
	ndevs++;
}

static int cmp_bdf(const void *a, const void *b)
{
	return strcmp(((const struct pdev *)a)->bdf, ((const struct pdev *)b)->bdf);
}

static int load_devices(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/bus/pci/devices", sysfs);
	dir = opendir(path);
	if (!dir) {
		complain("cannot list PCI devices in %s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir))) {
		if (!is_bdf(de->d_name))
			continue;
		if (ndevs == MAX_DEVS) {
			complain("more than %d PCI devices; the rest are left out", MAX_DEVS);
			break;
		}
		load_device(de->d_name);
	}
	closedir(dir);
	qsort(devs, ndevs, sizeof(devs[0]), cmp_bdf);
	return 0;
}

static int find_dev(const char *bdf)
{
	int i;

	for (i = 0; i < ndevs; i++)
		if (!strcmp(devs[i].bdf, bdf))
			return i;
	return -1;
}

/*
 * "<client> <map> <distance> <writes>/<reads> <reason...>", or false if
 * malformed.
 */
static bool parse_path(const char *line, struct path *p)
{
	char client[32];
	int used = 0;

	if (sscanf(line, "%31s %31s %d %39s %n", client, p->map, &p->distance,
		   p->probed, &used) < 4 || !used || !strchr(p->probed, '/'))
		return false;
	p->client = find_dev(client);
	if (p->client < 0)
		return false;
	snprintf(p->reason, sizeof(p->reason), "%.511s", line + used);
	p->reason[strcspn(p->reason, "\n")] = '\0';
	return true;
}

/* The kernel's paths from provider @prov; false if they are unknown. */
static bool load_paths_of(int prov, const char **why)
{
	char path[PATH_MAX], line[LINE_MAX_LEN];
	struct path *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/p2pdma/%s/paths", debugfs, devs[prov].bdf);
	f = fopen(path, "r");
	if (!f) {
		*why = strerror(errno);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		p = realloc(paths, (npaths + 1) * sizeof(*paths));
		if (!p) {
			*why = strerror(ENOMEM);
			fclose(f);
			return false;
		}
		paths = p;
		p = &paths[npaths];
		memset(p, 0, sizeof(*p));
		p->prov = prov;
		if (!parse_path(line, p)) {
			complain("%s: ignoring unusable line: %.60s", path, line);
			continue;
		}
		npaths++;
	}
	fclose(f);
	return true;
}

static const struct path *find_path(int prov, int client)
{
	int i;

	for (i = 0; i < npaths; i++)
		if (paths[i].prov == prov && paths[i].client == client)
			return &paths[i];
	return NULL;
}

static void print_size(long long bytes)
{
	if (bytes < 0)
		printf("?");
	else if (bytes >= (1LL << 20) && !(bytes & ((1LL << 20) - 1)))
		printf("%lld MiB", bytes >> 20);
	else
		printf("%lld KiB", bytes >> 10);
}

static void print_table(bool *known, const char **why)
{
	const struct path *p;
	int i, j, nprov = 0;

	printf("P2PDMA providers:\n");
	for (i = 0; i < ndevs; i++) {
		if (!devs[i].provider)
			continue;
		nprov++;
		printf("  %s  %-10s size ", devs[i].bdf,
		       devs[i].driver[0] ? devs[i].driver : "-");
		print_size(devs[i].size);
		printf(", available ");
		print_size(devs[i].avail);
		printf(", %s\n", devs[i].published == 1 ? "published" :
		       devs[i].published == 0 ? "not published" : "published ?");
	}
	if (!nprov) {
		printf("  none\n");
		return;
	}

	printf("\nPaths (provider -> client: P2P, distance, map type, %s, reason):\n",
	       "probed client-writes/client-reads");
	for (i = 0; i < ndevs; i++) {
		if (!devs[i].provider)
			continue;
		if (!known[i]) {
			printf("  %s -> *  unknown: %s/p2pdma/%s/paths: %s",
			       devs[i].bdf, debugfs, devs[i].bdf, why[i]);
			printf(" (needs root and debugfs)\n");
			continue;
		}
		for (j = 0; j < ndevs; j++) {
			if (j == i || devs[j].bridge)
				continue;
			p = find_path(i, j);
			if (!p)
				printf("  %s -> %s  unknown: not in the kernel's list\n",
				       devs[i].bdf, devs[j].bdf);
			else if (p->distance < 0)
				printf("  %s -> %s  no   -  %-19s %-17s %s\n",
				       devs[i].bdf, devs[j].bdf, p->map,
				       p->probed, p->reason);
			else
				printf("  %s -> %s  yes  %d  %-19s %s\n",
				       devs[i].bdf, devs[j].bdf, p->distance,
				       p->map, p->probed);
		}
	}
}

static void print_dot(void)
{
	const struct path *p;
	int i;

	printf("digraph p2pdma {\n");
	printf("\trankdir=TB;\n\tnode [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
	for (i = 0; i < ndevs; i++) {
		const struct pdev *d = &devs[i];

		printf("\t\"%s\" [label=\"%s\\n%s", d->bdf, d->bdf,
		       d->bridge ? "bridge" : d->driver[0] ? d->driver : "no driver");
		if (d->provider) {
			printf("\\np2pmem ");
			print_size(d->size);
			printf("\", style=filled, fillcolor=\"#9ecae1\"];\n");
		} else {
			printf("\"%s];\n", d->bridge ? ", shape=oval" : "");
		}
		/* Each host bridge once, before its first child. */
		if (find_dev(d->parent) < 0 && first_below_parent(i))
			printf("\t\"%s\" [label=\"host bridge\\n%s\", shape=house];\n",
			       d->parent, d->parent);
		printf("\t\"%s\" -> \"%s\";\n", d->parent, d->bdf);
	}
	for (i = 0; i < npaths; i++) {
		p = &paths[i];
		if (p->distance < 0)
			continue;
		printf("\t\"%s\" -> \"%s\" [style=dashed, constraint=false, ",
		       devs[p->prov].bdf, devs[p->client].bdf);
		printf("color=\"%s\", fontcolor=\"%s\", label=\"%d\"];\n",
		       PATH_COLOR, PATH_COLOR, p->distance);
	}
	printf("}\n");
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: p2pdma-topo [--dot] [--sysfs DIR] [--debugfs DIR]\n");
}

int main(int argc, char **argv)
{
	static bool known[MAX_DEVS];
	static const char *why[MAX_DEVS];
	bool dot = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dot")) {
			dot = true;
		} else if (!strcmp(argv[i], "--sysfs") && i + 1 < argc) {
			sysfs = argv[++i];
		} else if (!strcmp(argv[i], "--debugfs") && i + 1 < argc) {
			debugfs = argv[++i];
		} else {
			bool help = !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help");

			print_usage(help ? stdout : stderr);
			return help ? 0 : 2;
		}
	}

	if (load_devices())
		return 1;
	for (i = 0; i < ndevs; i++)
		if (devs[i].provider)
			known[i] = load_paths_of(i, &why[i]);

	if (dot)
		print_dot();
	else
		print_table(known, why);
	free(paths);
	return 0;
}
