/* af_fork.c - explore's forking runs (`allocfail explore`, by default).
   ALLOCFAIL_FORK=MS:MODE:STOP:DIR. The program runs once as the reference
   would; at each key listed in DIR/sites the shim forks: in --mode first
   and every a key is a call site, forked at its first hit, or a call
   site's calling context (SITE<RA<RA..., as rules name it), forked at the
   first hit of the site from that context; in --mode nth
   it is the count k of the rule that counts as a run of its own's
   `fail nth=K` does (AF_FORK_NTH_COUNTER), forked at allocation k. The
   child fails that allocation (and in --mode every each later hit of the
   site) and runs on to its end, with its own stdout, stderr, log and
   census under DIR/N.*; the parent waits for it (killing its process
   group after MS milliseconds), puts back the file offsets the child may
   have moved, records the outcome in DIR/results (with the hash and
   length of the child's stdout, whose file it then removes) and carries
   on without a failure. One program start then serves every key, instead
   of one start per key.

   Only where it stays correct: the process explore started (not one it
   ran, nor a vfork child: a run of its own fails their allocations too),
   a single process thread (forking a threaded one would leave locks held
   by threads that do not exist in the child), outside the C runtime,
   SIGCHLD at its default (a handler of the program's would reap our
   child), and stdout and stderr regular files (so that the child can take
   a copy of what was written before the fork); and no later than STOP
   milliseconds after the start (explore's --budget; 0: no end). Anywhere
   else a listed key is not forked and the reason goes to DIR/results;
   explore runs it on its own. Explore checks that the parent's output
   matched the reference run before it trusts any of this. Everything here
   runs on the slow path, at a key's first hit. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "af.h"
#include "af_addr.h"
#include "af_fork.h"
#include "af_log.h"
#include "af_fmt.h"
#include "af_proc.h"
#include "af_sites.h"
#include "af_walk.h"

extern char __libc_single_threaded __attribute__((weak));
/* glibc 2.34's fork without the atfork handlers */
extern pid_t _Fork(void) __attribute__((weak));

static char dir[2048];
static uint64_t timeout_ns, stop_ns, start_ns;
static char *sites_buf;   /* DIR/sites, lines split in place */
static char **sites;      /* a hash set of its keys (no libc sort: qsort
			     may allocate) */
static unsigned sites_mask;
static int nforks;
static int in_child;
static int every;         /* --mode every: the child fails each hit */
int af_fork_nth;
static struct af_site *failing; /* the site an --mode every child fails */
static const struct af_fork_group *failing_group; /* and its context, when */
static int failing_ctx;                            /* it was forked at one */

/* The listed contexts of one call site, as the sites of one rule
   (`fail site=CTX1,CTX2,...`, parsed by the rules' parser): the slow path
   matches a hit's stack against them as it matches a rule's site=, and
   the contexts are forked at, each at its first hit. */
struct af_fork_group {
	const char *site;        /* the plain key, SITE */
	struct af_policy pol;    /* its one rule */
	const struct af_rule *rule;
	char **keys;             /* the rule's sites' keys, as listed */
	int nkeys;
	_Atomic unsigned char *met; /* each, once met in this process */
	_Atomic int left;        /* not met yet */
};
static struct af_fork_group **groups; /* a hash set by site key */
static unsigned groups_mask;
static pid_t top_pid;     /* the process explore started, or 0 */
static char out_paths[2][2100]; /* the child's log and census */

static unsigned hash_key(const char *k)
{
	unsigned h = 2166136261u;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

static struct af_fork_group **group_slot(const char *site, size_t len)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)site[i]) * 16777619u;
	for (h &= groups_mask; groups[h]; h = (h + 1) & groups_mask)
		if (!strncmp(groups[h]->site, site, len) && !groups[h]->site[len])
			return &groups[h];
	return &groups[h];
}

/* The listed keys with a calling context, by call site, each site's as the
   sites of one rule. A site whose rule does not parse is left with none:
   its contexts are then not reached here, and their runs of their own say
   what is wrong. n: the keys listed. */
static int group_contexts(int n, const char **why)
{
	int any = 0;
	for (unsigned i = 0; i <= sites_mask && !any; i++)
		any = sites[i] && strchr(sites[i], '<');
	if (!any)
		return 0;
	unsigned cap = 16;
	while (cap < 2u * (unsigned)n + 2)
		cap *= 2;
	groups = af_imalloc(sizeof *groups * cap);
	if (!groups)
		goto oom;
	memset(groups, 0, sizeof *groups * cap);
	groups_mask = cap - 1;
	/* the groups, with their contexts counted in left */
	for (unsigned i = 0; i <= sites_mask; i++) {
		const char *k = sites[i], *lt = k ? strchr(k, '<') : NULL;
		if (!lt)
			continue;
		struct af_fork_group **slot = group_slot(k, (size_t)(lt - k));
		if (!*slot) {
			struct af_fork_group *g = af_imalloc(sizeof *g);
			char *site = af_imalloc((size_t)(lt - k) + 1);
			if (!g || !site)
				goto oom;
			memset(g, 0, sizeof *g);
			memcpy(site, k, (size_t)(lt - k));
			site[lt - k] = 0;
			g->site = site;
			*slot = g;
		}
		(*slot)->left++;
	}
	for (unsigned i = 0; i <= groups_mask; i++) {
		struct af_fork_group *g = groups[i];
		if (g && !(g->keys = af_imalloc(sizeof *g->keys * (size_t)g->left)))
			goto oom;
	}
	/* their keys (left counts them again), and each group's rule */
	for (unsigned i = 0; i <= sites_mask; i++) {
		const char *k = sites[i], *lt = k ? strchr(k, '<') : NULL;
		if (lt) {
			struct af_fork_group *g = *group_slot(k, (size_t)(lt - k));
			g->keys[g->nkeys++] = sites[i];
		}
	}
	for (unsigned i = 0; i <= groups_mask; i++) {
		struct af_fork_group *g = groups[i];
		if (!g)
			continue;
		size_t cap_text = sizeof "fail site=";
		for (int j = 0; j < g->nkeys; j++)
			cap_text += strlen(g->keys[j]) + 1;
		char *rule = af_imalloc(cap_text);
		g->met = af_imalloc((size_t)g->nkeys);
		if (!rule || !g->met)
			goto oom;
		memset((void *)g->met, 0, (size_t)g->nkeys);
		size_t at = af_fmt(rule, cap_text, "fail site=");
		for (int j = 0; j < g->nkeys; j++)
			at += af_fmt(rule + at, cap_text - at, "%s%s", j ? "," : "", g->keys[j]);
		struct af_error err;
		af_policy_init(&g->pol);
		int ok = af_policy_parse_text(&g->pol, rule, at, "ALLOCFAIL_FORK", &err) == 0 &&
			 g->pol.nrules == 1 && g->pol.rules[0]->nsites == g->nkeys;
		af_ifree(rule);
		g->rule = ok ? g->pol.rules[0] : NULL;
		atomic_store(&g->left, ok ? g->nkeys : 0); /* none: a plain site here */
	}
	return 0;
oom:
	*why = "out of memory";
	return -1;
}

struct af_fork_group *af_fork_group(struct af_site *site)
{
	if (!groups || af_site_forked(site)) /* the table's overflow site too */
		return NULL;
	char key[512];
	af_site_key(site, key, sizeof key);
	struct af_fork_group *g = *group_slot(key, strlen(key));
	return g && atomic_load_explicit(&g->left, memory_order_relaxed) ? g : NULL;
}

int af_fork_context(struct af_fork_group *g, struct af_site *site, struct ctx *c, int from,
		    char *key, size_t cap)
{
	int i = from;
	while ((i = af_ctx_site_match(c, g->rule, i)) >= 0) {
		if (!atomic_exchange_explicit(&g->met[i], 1, memory_order_relaxed)) {
			af_fmt(key, cap, "%s", g->keys[i]);
			/* every context met: the quick path takes the site */
			if (atomic_fetch_sub(&g->left, 1) == 1)
				af_site_fork_once(site);
			return i;
		}
		i++;
	}
	return -1;
}

/* Reads MS:MODE:STOP:DIR and DIR/sites (one key a line); -1 on an error. */
int af_fork_init(const char *spec, const char **why)
{
	char *end, *stop_end;
	unsigned long ms = strtoul(spec, &end, 10);
	const char *mode = end + 1;
	size_t mlen = *end == ':' ? strcspn(mode, ":") : 0;
	unsigned long stop = mlen ? strtoul(mode + mlen + 1, &stop_end, 10) : 0;
	if (end == spec || *end != ':' || ms == 0 || !mode[mlen] || stop_end == mode + mlen + 1 ||
	    *stop_end != ':' || !stop_end[1]) {
		*why = "expected MS:MODE:STOP:DIR";
		return -1;
	}
	if (mlen == 5 && !strncmp(mode, "every", 5))
		every = 1;
	else if (mlen == 3 && !strncmp(mode, "nth", 3))
		af_fork_nth = 1;
	else if (!(mlen == 5 && !strncmp(mode, "first", 5))) {
		*why = "MODE: expected first, every or nth";
		return -1;
	}
	af_fmt(dir, sizeof dir, "%s", stop_end + 1);
	timeout_ns = (uint64_t)ms * 1000000ull;
	stop_ns = (uint64_t)stop * 1000000ull;
	start_ns = af_now_ns();
	/* the first process to start here is the command; the processes it
	   runs find DIR/top taken */
	char top[2100];
	af_fmt(top, sizeof top, "%s/top", dir);
	char me[32];
	size_t mlen2 = af_fmt(me, sizeof me, "%d\n", (int)getpid());
	int tfd = open(top, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (tfd >= 0) {
		af_write_all(tfd, me, mlen2);
		close(tfd);
		top_pid = getpid();
	} else if ((tfd = open(top, O_RDONLY | O_CLOEXEC)) >= 0) {
		/* the command's process after an exec is the command still */
		char was[32];
		ssize_t k = read(tfd, was, sizeof was);
		close(tfd);
		if (k == (ssize_t)mlen2 && !memcmp(was, me, mlen2))
			top_pid = getpid();
	}
	char path[2100];
	af_fmt(path, sizeof path, "%s/sites", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		*why = "cannot read DIR/sites";
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sites_buf = af_imalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (sites_buf && got < (size_t)st.st_size) {
		ssize_t k = read(fd, sites_buf + got, (size_t)st.st_size - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	if (!sites_buf || got != (size_t)st.st_size) {
		*why = "cannot read DIR/sites";
		return -1;
	}
	sites_buf[got] = 0;
	int n = 0;
	for (size_t i = 0; i < got; i++)
		n += sites_buf[i] == '\n';
	unsigned cap = 16;
	while (cap < 2u * (unsigned)n + 2)
		cap *= 2;
	sites = af_imalloc(sizeof(char *) * cap);
	if (!sites) {
		*why = "out of memory";
		return -1;
	}
	sites_mask = cap - 1;
	for (char *p = sites_buf; *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (*p) {
			unsigned h = hash_key(p) & sites_mask;
			while (sites[h] && strcmp(sites[h], p))
				h = (h + 1) & sites_mask;
			sites[h] = p;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return group_contexts(n, why);
}

static int listed(const char *key)
{
	for (unsigned h = hash_key(key) & sites_mask; sites[h]; h = (h + 1) & sites_mask)
		if (!strcmp(sites[h], key))
			return 1;
	return 0;
}

static int regular(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Why this process cannot fork here, or NULL when it can. */
static const char *cannot_fork(int in_runtime)
{
	if (!top_pid || getpid() != top_pid)
		return "subprocess";
	if (stop_ns && af_now_ns() - start_ns >= stop_ns)
		return "budget";
	if (in_runtime)
		return "runtime";
	if (&__libc_single_threaded == NULL || !__libc_single_threaded)
		return "threads";
	struct sigaction sa;
	if (sigaction(SIGCHLD, NULL, &sa) < 0 || (sa.sa_flags & SA_SIGINFO) ||
	    sa.sa_handler != SIG_DFL)
		return "sigchld";
	if (!regular(1) || !regular(2))
		return "output";
	return NULL;
}

static void record_line(const char *line, size_t len)
{
	char path[2100];
	af_fmt(path, sizeof path, "%s/results", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	af_write_all(fd, line, len);
	close(fd);
}

int af_fork_wanted(const char *key, int in_runtime)
{
	/* a forked child's keys are its parent's to fork */
	if (in_child || !listed(key))
		return 0;
	const char *why = cannot_fork(in_runtime);
	if (!why)
		return 1;
	char line[768];
	struct af_buf b;
	af_buf_init(&b, line, sizeof line - 1);
	af_buf_puts(&b, "{\"site\":");
	af_buf_json(&b, key);
	af_buf_fmt(&b, ",\"pid\":%d,\"not_forked\":\"%s\"}\n", (int)getpid(), why);
	record_line(line, b.len);
	return 0;
}

int af_fork_fails(struct af_site *s, struct ctx *c)
{
	return failing && s == failing &&
	       (!failing_group || af_ctx_site_match(c, failing_group->rule, failing_ctx) == failing_ctx);
}

/* The child's copy of fd: a new file under DIR holding what was written to
   fd before the fork, then dup2'ed over fd. */
static int take_copy(int fd, const char *path)
{
	off_t end = lseek(fd, 0, SEEK_CUR);
	char self[64];
	af_fmt(self, sizeof self, "/proc/self/fd/%d", fd);
	int src = open(self, O_RDONLY | O_CLOEXEC);
	int dst = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (end < 0 || src < 0 || dst < 0)
		return -1;
	off_t at = 0;
	while (at < end) {
		ssize_t k = sendfile(dst, src, &at, (size_t)(end - at));
		if (k <= 0)
			return -1;
	}
	close(src);
	if (dup2(dst, fd) < 0)
		return -1;
	close(dst);
	return 0;
}

/* File offsets the child shares with the parent (its input, for one). */
struct saved {
	int fd;
	off_t off;
};

/* af_fork_at's buffers, static: it runs on the thread that hit the site,
   whose stack may be a small thread's, and with the process's only thread
   (no other can be in it). Not on the heap: a block of this size is a
   large one for jemalloc, whose allocation and free wrote a dozen pages of
   its metadata at every fork, each a page fault in the worker (its pages
   are write-protected after each fork) and in the child (a copy). */
static struct scratch {
	struct saved saved[256];
	char key[512];
	char path[2100];
	char line[1024];
	char buf[16384];
} scratch;

static int save_offsets(struct saved *v, int max, char *buf, size_t cap)
{
	int n = 0;
	int d = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return 0;
	for (;;) {
		long k = syscall(SYS_getdents64, d, buf, cap);
		if (k <= 0)
			break;
		for (long i = 0; i < k;) {
			struct {
				unsigned long long ino;
				long long off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *e = (void *)(buf + i);
			i += e->reclen;
			int fd = 0;
			for (const char *p = e->name; *p >= '0' && *p <= '9'; p++)
				fd = fd * 10 + (*p - '0');
			if (e->name[0] < '0' || e->name[0] > '9' || fd == d || fd == 1 || fd == 2 ||
			    n == max)
				continue;
			off_t off = lseek(fd, 0, SEEK_CUR);
			if (off >= 0)
				v[n++] = (struct saved){fd, off};
		}
	}
	close(d);
	return n;
}

/* The child's standard output, as explore's runner takes a run's: its
   length and 64-bit FNV-1a hash. The file is removed once read, so that
   the children of one run never hold more than one output between them
   (explore keeps its scratch on a tmpfs). 0 when it could be read. */
static int hash_output(const char *path, uint64_t *hash, uint64_t *len, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uint64_t h = AF_FNV64_INIT, n = 0;
	ssize_t k;
	while ((k = read(fd, buf, cap)) > 0) {
		h = af_fnv64(h, buf, (size_t)k);
		n += (uint64_t)k;
	}
	close(fd);
	if (k < 0)
		return -1;
	unlink(path);
	*hash = h;
	*len = n;
	return 0;
}

static void record(struct scratch *x, int n, pid_t pid, int status, int timed_out, uint64_t ns)
{
	char *path = x->path, *line = x->line, *key = x->key;
	uint64_t out_hash, out_len;
	af_fmt(path, sizeof x->path, "%s/%d.out", dir, (int)pid);
	int hashed = hash_output(path, &out_hash, &out_len, x->buf, sizeof x->buf) == 0;
	struct af_buf b;
	af_buf_init(&b, line, sizeof x->line - 1);
	af_buf_fmt(&b, "{\"n\":%d,\"pid\":%d,\"site\":", n, (int)pid);
	af_buf_json(&b, key);
	af_buf_fmt(&b, ",\"wstatus\":%d,\"timed_out\":%s,\"secs\":%llu.%09llu", status,
		   timed_out ? "true" : "false", (unsigned long long)(ns / 1000000000ull),
		   (unsigned long long)(ns % 1000000000ull));
	if (hashed)
		af_buf_fmt(&b, ",\"out_hash\":\"%016llx\",\"out_len\":%llu",
			   (unsigned long long)out_hash, (unsigned long long)out_len);
	af_buf_puts(&b, "}\n");
	record_line(line, b.len);
}

/* How long a child waits in a deadlock before it is taken for one, and how
   often it is looked at (forked children take 1-10 ms as a rule). */
#define AF_DEADLOCK_AFTER_NS (5 * 1000000ull)
#define AF_DEADLOCK_EVERY_MS 5

/* Waits for the child, at most timeout_ns, or until it is found in a
   deadlock twice in a row; 1 if it had to be killed. */
static int wait_child(pid_t pid, int *status)
{
	uint64_t start = af_now_ns();
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int killed = 0, stuck = 0;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			*status = 0;
			break;
		}
		uint64_t el = af_now_ns() - start;
		if (!killed && el >= AF_DEADLOCK_AFTER_NS)
			stuck = af_proc_deadlocked(pid) ? stuck + 1 : 0;
		if (!killed && (el >= timeout_ns || stuck >= 2)) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = 1;
			continue;
		}
		int ms = killed ? 10 : (int)((timeout_ns - el) / 1000000) + 1;
		if (!killed) { /* wake up for the next look at it */
			uint64_t next = el < AF_DEADLOCK_AFTER_NS ? AF_DEADLOCK_AFTER_NS - el
								  : AF_DEADLOCK_EVERY_MS * 1000000ull;
			int cap = (int)(next / 1000000) + 1;
			ms = ms < cap ? ms : cap;
		}
		if (pfd >= 0) {
			struct pollfd p = {pfd, POLLIN, 0};
			poll(&p, 1, ms);
		} else {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	if (pfd >= 0)
		close(pfd);
	kill(-pid, SIGKILL); /* whatever it left behind */
	return killed;
}

int af_fork_at(const char *key, struct af_site *site, const struct af_fork_group *g, int ctx)
{
	struct scratch *x = &scratch;
	af_fmt(x->key, sizeof x->key, "%s", key);
	int nsaved = save_offsets(x->saved, 256, x->buf, sizeof x->buf);
	int n = ++nforks;
	uint64_t start = af_now_ns();
	/* Not fork(): its atfork handlers are the program's too, and they
	   take the program's locks, some of which this very allocation may
	   be made under (perl 5.36 reallocs holding PL_perlio_mutex, which
	   its prepare handler then locks: the forking run hung for good). The
	   process has one thread and is not inside the C runtime here, so no
	   lock the handlers would protect is held by anyone else, and the
	   child is the copy of the process at this call that it should be. */
	pid_t pid = _Fork ? _Fork() : fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		/* the child's files by its pid: the command may exec, and the new
		   image count its forks from 1 again */
		n = (int)getpid();
		in_child = 1;
		if (_Fork)
			af_fork_child_reset();
		setpgid(0, 0);
		char *path = x->path;
		af_fmt(path, sizeof x->path, "%s/%d.out", dir, n);
		int ok = take_copy(1, path) == 0;
		af_fmt(path, sizeof x->path, "%s/%d.err", dir, n);
		ok = ok && take_copy(2, path) == 0;
		af_fmt(out_paths[AF_OUT_LOG], sizeof out_paths[0], "%s/%d.log", dir, n);
		af_fmt(out_paths[AF_OUT_CENSUS], sizeof out_paths[1], "%s/%d.census", dir, n);
		const char *why;
		if (af_g.log_fd >= 0)
			close(af_g.log_fd);
		close(af_g.census_fd);
		ok = ok && af_out_open(AF_OUT_LOG, out_paths[AF_OUT_LOG], &why) >= 0 &&
		     af_out_open(AF_OUT_CENSUS, out_paths[AF_OUT_CENSUS], &why) >= 0;
		if (!ok)
			_exit(125); /* explore reports the site as not run */
		if (every) {
			/* each later hit fails too: the slow path decides every
			   allocation from here on, as the rule `fail site=` of a
			   run of its own would */
			failing = site;
			failing_group = g;
			failing_ctx = ctx;
			af_g.quick = 0;
			af_thread_update(&af_t);
		}
		return 1;
	}
	setpgid(pid, pid);
	int status;
	int timed_out = wait_child(pid, &status);
	for (int i = 0; i < nsaved; i++)
		lseek(x->saved[i].fd, x->saved[i].off, SEEK_SET);
	record(x, n, pid, status, timed_out, af_now_ns() - start);
	return 0;
}
