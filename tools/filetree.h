/* filetree.h - snapshots of a run's working directory (explore --isolate):
   entries by path, with a hash of each one's content, compared with the
   reference runs'. */
#ifndef AF_FILETREE_H
#define AF_FILETREE_H

#include <stdint.h>

struct fileent {
	char *path;    /* relative to the directory */
	char kind;     /* f file, d directory, l symbolic link, o other */
	int unstable;  /* differs between the two reference runs: not judged */
	uint64_t hash; /* FNV-1a of the content or the link's target */
	uint64_t size;
};

struct filetree {
	struct fileent *v; /* sorted by path */
	int n, cap;
	int names_unstable; /* the references left different names: new ones are not judged */
};

/* 0, or -1 (errno) when some entry could not be read. */
int filetree_read(struct filetree *t, const char *dir);
void filetree_free(struct filetree *t);
/* ref: the first reference's tree; other: the second's: marks what
   differs between them unstable. */
void filetree_settle(struct filetree *ref, const struct filetree *other);
/* NULL when run left what ref did, else what differs first (free it). */
char *filetree_diff(const struct filetree *ref, const struct filetree *run);

#endif
