/* lockfork.c - a lock held across an allocation and taken again on its
   failure path, for explore --fork. The mutex checks its owner, a thread
   id: in a child the shim forked at the allocation that id is another
   thread's, so the child's unlock fails (EPERM) and the failure path's
   lock waits for good. Run on its own, the failure is handled: a message
   and exit 1.
   lockfork atfork: a plain mutex held across the allocation is also
   taken by the program's own atfork handler, as perl's PerlIO mutex is:
   a fork() there would deadlock the forking run itself.
   lockfork self: the failure path takes a plain mutex it already holds,
   and waits for good (a run of its own deadlocks).
   lockfork watchdog: the same, with a SIGALRM watchdog that ends the wait
   after a second with a message and exit 3 (not a deadlock).
   lockfork stuck: deadlocks with no failure at all. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu;
static int failures;
static pthread_mutex_t io = PTHREAD_MUTEX_INITIALIZER;

static void io_lock(void)
{
	pthread_mutex_lock(&io);
}

static void io_unlock(void)
{
	pthread_mutex_unlock(&io);
}

static void watchdog(int sig)
{
	(void)sig;
	static const char msg[] = "lockfork: stuck, giving up\n";
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(4);
	_exit(3);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "stuck")) {
		free(malloc(10));
		pthread_mutex_lock(&io);
		pthread_mutex_lock(&io);
		return 0;
	}
	if (argc > 1 && (argv[1][0] == 's' || argv[1][0] == 'w')) { /* self, watchdog */
		if (argv[1][0] == 'w') {
			signal(SIGALRM, watchdog);
			alarm(1);
		}
		pthread_mutex_lock(&io);
		char *p = malloc(100);
		if (!p) /* the planted bug: the lock is taken again */
			pthread_mutex_lock(&io);
		pthread_mutex_unlock(&io);
		puts(p ? "ok" : "failed");
		free(p);
		return 0;
	}
	if (argc > 1 && argv[1][0] == 'a') { /* atfork */
		pthread_atfork(io_lock, io_unlock, io_unlock);
		io_lock();
		char *p = malloc(100);
		io_unlock();
		if (!p) {
			fputs("lockfork: out of memory\n", stderr);
			return 1;
		}
		puts("ok");
		free(p);
		return 0;
	}
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&mu, &a);
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&mu);
		char *p = malloc(64 + (size_t)i);
		pthread_mutex_unlock(&mu);
		if (!p) {
			pthread_mutex_lock(&mu);
			failures++;
			pthread_mutex_unlock(&mu);
			fprintf(stderr, "lockfork: out of memory (%d)\n", failures);
			return 1;
		}
		snprintf(p, 64, "item %d", i);
		puts(p);
		free(p);
	}
	return 0;
}
