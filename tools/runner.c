/* runner.c - fork/exec with capture and a process-group timeout. */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "af_fmt.h"
#include "af_proc.h"
#include "af_tool.h"

#define ERR_CAP (1 << 20)


/* A run whose one thread waits for good on a lock (af_proc.h) is killed
   then, not at its timeout: a program that deadlocks on its error path
   (perl, OpenSSL) cost a whole timeout a site. Looked at every
   DEADLOCK_EVERY seconds from DEADLOCK_AFTER on, and taken for one when
   seen so twice in a row. */
#define DEADLOCK_AFTER 0.02
#define DEADLOCK_EVERY 0.02

volatile sig_atomic_t runner_stop;

struct watch {
	pid_t pid;
	double deadline; /* the timeout, 0: none */
	double next;     /* the next look for a deadlock */
	int seen;        /* looks in a row that found it deadlocked */
};

/* 1 when the run must end now (its timeout, a deadlock, runner_stop):
   its group is killed and r says why; else *ms is how long to wait at
   most, for the timeout or the next look. */
static int must_end(struct watch *w, struct runres *r, int *ms)
{
	double t = mono_now();
	if (w->deadline > 0 && t >= w->deadline) {
		r->timed_out = 1;
	} else if (t >= w->next && (w->seen = af_proc_deadlocked(w->pid) ? w->seen + 1 : 0) >= 2) {
		r->timed_out = r->deadlocked = 1;
	} else if (runner_stop) {
		r->interrupted = 1;
	} else {
		if (t >= w->next)
			w->next = t + DEADLOCK_EVERY;
		double until = w->deadline > 0 && w->deadline < w->next ? w->deadline : w->next;
		*ms = (int)((until - t) * 1000) + 1;
		return 0;
	}
	kill(-w->pid, SIGKILL);
	return 1;
}

/* n bytes of the child's stdout (i = 0) or stderr (1); stderr's text is
   kept up to ERR_CAP, in a buffer that grows with it (most runs write
   little, and a fresh megabyte per run costs more than the run) */
static void absorb(struct runres *r, int i, const char *buf, size_t n)
{
	if (i == 0) {
		r->out_hash = af_fnv64(r->out_hash, buf, n);
		r->out_len += n;
		return;
	}
	r->err_hash = af_fnv64(r->err_hash, buf, n);
	size_t room = ERR_CAP - r->err_len < n ? ERR_CAP - r->err_len : n;
	if (r->err_len + room + 1 > r->err_cap) {
		size_t cap = r->err_cap;
		while (cap < r->err_len + room + 1)
			cap *= 2;
		r->err = xrealloc(r->err, cap);
		r->err_cap = cap;
	}
	memcpy(r->err + r->err_len, buf, room);
	r->err_len += room;
}

static void err_init(struct runres *r)
{
	if (!r->err) {
		r->err_cap = 4096;
		r->err = xmalloc(r->err_cap);
	}
	r->err_len = 0;
	r->err[0] = 0;
}

/* The child is made with posix_spawn (vfork semantics in glibc): nothing
   of ours is copied on write, which a fork of this process then paid for
   on every page either side wrote until the exec. */
int run_child(const struct runspec *s, struct runres *r)
{
	memset(r, 0, sizeof *r);
	r->out_hash = r->err_hash = AF_FNV64_INIT;
	err_init(r);
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	int files = s->out_path && s->err_path;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int e = posix_spawn_file_actions_init(&fa);
	if (e) {
		errno = e;
		return -1;
	}
	if ((e = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		errno = e;
		return -1;
	}
	if (!s->passthrough && !files && (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0))
		e = errno;
	/* the child: its own process group, SIGPIPE at its default, stdin
	   and the outputs, then the directory (so that the paths above are
	   taken from ours) */
	sigset_t def;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	if (!e)
		e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
	if (!e)
		e = posix_spawnattr_setpgroup(&at, 0);
	if (!e)
		e = posix_spawnattr_setsigdefault(&at, &def);
	if (!e)
		e = posix_spawn_file_actions_addopen(&fa, 0, s->stdin_path ? s->stdin_path : "/dev/null",
						     O_RDONLY, 0);
	if (!e && files)
		e = posix_spawn_file_actions_addopen(&fa, 1, s->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!e && files)
		e = posix_spawn_file_actions_addopen(&fa, 2, s->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!e && !files && !s->passthrough)
		e = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (!e && !files && !s->passthrough)
		e = posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (!e && s->cwd)
		e = posix_spawn_file_actions_addchdir_np(&fa, s->cwd);
	int setup = e != 0;
	double start = mono_now();
	pid_t pid = -1;
	if (!e)
		e = posix_spawnp(&pid, s->argv[0], &fa, &at, s->argv, s->env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e) {
		for (int i = 0; i < 2; i++) {
			if (out[i] >= 0)
				close(out[i]);
			if (err[i] >= 0)
				close(err[i]);
		}
		if (setup) {
			errno = e;
			return -1;
		}
		/* as a shell reports it: the command was not run */
		r->exec_failed = e;
		r->wstatus = 127 << 8;
		r->secs = mono_now() - start;
		return 0;
	}
	r->pid = pid;
	if (!s->passthrough && !files) {
		close(out[1]);
		close(err[1]);
	}
	struct pollfd pf[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
	int open_fds = s->passthrough || files ? 0 : 2;
	char buf[65536];
	struct watch wd = {pid, s->timeout > 0 ? start + s->timeout : 0, start + DEADLOCK_AFTER, 0};
	while (open_fds > 0) {
		int wait_ms;
		if (must_end(&wd, r, &wait_ms))
			break;
		int k = poll(pf, 2, wait_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(pf[i].fd, buf, sizeof buf);
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			absorb(r, i, buf, (size_t)n);
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0 && !s->passthrough && !files)
			close(pf[i].fd);
	r->err[r->err_len] = 0;
	/* wait, still honouring the timeout (the child may have closed its
	   outputs and kept running): on a pidfd when the kernel has them, so
	   that the exit is seen at once, else by polling */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		pid_t w = waitpid(pid, &r->wstatus, r->timed_out || r->interrupted ? 0 : WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			if (pidfd >= 0)
				close(pidfd);
			return -1;
		}
		if (w == 0) {
			int wait_ms;
			if (must_end(&wd, r, &wait_ms))
				continue;
			if (pidfd >= 0) {
				struct pollfd pp = {pidfd, POLLIN, 0};
				poll(&pp, 1, wait_ms);
			} else {
				struct timespec ts = {0, 2000000};
				nanosleep(&ts, NULL);
			}
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	/* the whole group goes, including anything the program left behind */
	kill(-pid, SIGKILL);
	r->secs = mono_now() - start;
	if (files && runres_read_outputs(r, s->out_path, s->err_path) < 0)
		return -1;
	return 0;
}

int runres_read_outputs(struct runres *r, const char *out_path, const char *err_path)
{
	r->out_hash = r->err_hash = AF_FNV64_INIT;
	r->out_len = 0;
	err_init(r);
	const char *paths[2] = {out_path, err_path};
	char buf[65536];
	for (int i = 0; i < 2; i++) {
		if (!paths[i])
			continue;
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			absorb(r, i, buf, (size_t)n);
		}
		close(fd);
	}
	r->err[r->err_len] = 0;
	return 0;
}

void runres_free(struct runres *r)
{
	free(r->err);
	r->err = NULL;
}
