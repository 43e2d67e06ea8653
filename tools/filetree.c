/* filetree.c - what a run left in its working directory, for explore
   --isolate: a program whose effect is a file (sort -o, tar -x, sed -i)
   loses data there, not on stdout. A snapshot is the sorted list of the
   tree's entries, each with its kind and a hash of its content (a
   regular file's bytes, a symbolic link's target); modification times
   and permissions are not compared. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "af_fmt.h"
#include "af_tool.h"
#include "filetree.h"

static void add(struct filetree *t, const char *path, char kind, uint64_t hash, uint64_t size)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xrealloc(t->v, sizeof *t->v * (size_t)t->cap);
	}
	struct fileent *e = &t->v[t->n++];
	e->path = xstrdup(path);
	e->kind = kind;
	e->hash = hash;
	e->size = size;
	e->unstable = 0;
}

/* The entries under dirfd, named rel/...; -1 (errno) when one cannot be read. */
static int walk(struct filetree *t, int dirfd, const char *rel)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path = rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			add(t, path, 'd', 0, 0);
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = fd < 0 ? -1 : walk(t, fd, path);
		} else if (S_ISREG(st.st_mode)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			uint64_t h = AF_FNV64_INIT, size = 0;
			char buf[65536];
			ssize_t k;
			while (fd >= 0 && (k = read(fd, buf, sizeof buf)) > 0) {
				h = af_fnv64(h, buf, (size_t)k);
				size += (uint64_t)k;
			}
			if (fd < 0 || k < 0)
				rc = -1;
			if (fd >= 0)
				close(fd);
			add(t, path, 'f', h, size);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t k = readlinkat(dirfd, de->d_name, target, sizeof target);
			if (k < 0)
				rc = -1;
			else
				add(t, path, 'l', af_fnv64(AF_FNV64_INIT, target, (size_t)k), (uint64_t)k);
		} else {
			add(t, path, 'o', 0, 0); /* a fifo, a socket: its existence */
		}
		free(path);
	}
	if (rc == 0 && errno)
		rc = -1;
	int e = errno;
	closedir(d);
	errno = e;
	return rc;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct fileent *)a)->path, ((const struct fileent *)b)->path);
}

int filetree_read(struct filetree *t, const char *dir)
{
	memset(t, 0, sizeof *t);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = walk(t, fd, NULL);
	if (t->n)
		qsort(t->v, (size_t)t->n, sizeof *t->v, by_path);
	return rc;
}

void filetree_free(struct filetree *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
	memset(t, 0, sizeof *t);
}

static int same(const struct fileent *a, const struct fileent *b)
{
	return a->kind == b->kind && a->hash == b->hash && a->size == b->size;
}

/* Marks the entries of ref that another clean run (other) left otherwise,
   or did not leave, and adds those only other left, marked: names and
   contents that change from run to run (a time, a process id) judge
   nothing. */
void filetree_settle(struct filetree *ref, const struct filetree *other)
{
	int i = 0, j = 0, n = ref->n;
	while (i < n || j < other->n) {
		int c = i == n ? 1 : j == other->n ? -1 : strcmp(ref->v[i].path, other->v[j].path);
		if (c == 0) {
			if (!same(&ref->v[i], &other->v[j]))
				ref->v[i].unstable = 1;
			i++, j++;
		} else if (c < 0) {
			ref->v[i++].unstable = 1;
			ref->names_unstable = 1;
		} else {
			const struct fileent *e = &other->v[j++];
			add(ref, e->path, e->kind, e->hash, e->size);
			ref->v[ref->n - 1].unstable = 1;
			ref->names_unstable = 1;
		}
	}
	qsort(ref->v, (size_t)ref->n, sizeof *ref->v, by_path);
}

static const char *kind_name(char k)
{
	return k == 'f' ? "file" : k == 'd' ? "directory" : k == 'l' ? "symbolic link" : "special file";
}

/* NULL when run left what ref did (its unstable entries aside); else how
   the first difference in path order reads. */
char *filetree_diff(const struct filetree *ref, const struct filetree *run)
{
	int i = 0, j = 0;
	while (i < ref->n || j < run->n) {
		int c = i == ref->n ? 1 : j == run->n ? -1 : strcmp(ref->v[i].path, run->v[j].path);
		if (c < 0) {
			const struct fileent *r = &ref->v[i++];
			if (!r->unstable)
				return xasprintf("%s is missing", r->path);
		} else if (c > 0) {
			const struct fileent *e = &run->v[j++];
			if (!ref->names_unstable)
				return xasprintf("%s is new", e->path);
		} else {
			const struct fileent *r = &ref->v[i++], *e = &run->v[j++];
			if (r->unstable || same(r, e))
				continue;
			if (r->kind != e->kind)
				return xasprintf("%s is a %s, not a %s", e->path, kind_name(e->kind),
						 kind_name(r->kind));
			if (r->kind == 'f')
				return xasprintf("%s differs (%llu bytes, not %llu)", e->path,
						 (unsigned long long)e->size, (unsigned long long)r->size);
			return xasprintf("%s differs", e->path);
		}
	}
	return NULL;
}
