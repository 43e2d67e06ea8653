/* af_tool.h - shared by the subcommands of the allocfail command. */
#ifndef AF_TOOL_H
#define AF_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "af_rules.h"

#define EXIT_USAGE 2
#define EXIT_INTERNAL 125

/* s as it may reach a terminal: control characters and bytes that are
   not UTF-8 as \xHH (af_buf_text). Everything printed for people that
   comes from outside (a log, a symbol table, a thread name) goes through
   it. The result lives until 8 more calls in the same thread. */
const char *tty(const char *s);
/* Print "allocfail: ..." on stderr, the message through tty(). */
void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Option values, strictly: anything else dies with status 2 and a line
   naming the subcommand, the option and what was expected. */
long opt_number(const char *cmd, const char *opt, const char *v, long lo, long hi);
double opt_seconds(const char *cmd, const char *opt, const char *v);
/* --shard K/N, 1 <= K <= N. */
void opt_shard(const char *cmd, const char *v, int *k, int *n);
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The shim to preload: $ALLOCFAIL_SHIM, the build tree beside this
   executable, or the installed library. NULL if none exists. */
const char *find_shim(void);
/* Where to make a scratch directory: $TMPDIR when set; else, when the
   files are small (memory != 0), a tmpfs with 256 MiB free
   ($XDG_RUNTIME_DIR, /dev/shm); else /tmp. */
const char *scratch_parent(int memory);

/* A growable vector of strings (NULL-terminated). */
struct strv {
	char **v;
	int n, cap;
};
void strv_add(struct strv *s, const char *x);
void strv_addf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strv_free(struct strv *s);
/* Every item followed by a newline, as one string (malloc'ed). */
char *strv_lines(char *const *v, int n);
/* The items with sep between them (malloc'ed). */
char *strv_join(char *const *v, int n, const char *sep);

/* Rules and settings given on a command line, validated with the shim's
   own parser so that errors are reported before anything runs. */
struct ruleopts {
	const char *rules_file; /* absolute */
	/* a --rules file that is not a regular file (a pipe): its path as
	   given, and its text; rules_file is then a private copy */
	const char *rules_stream;
	char *rules_text;
	size_t rules_len;
	struct strv inline_rules; /* "--rule" texts and "set k=v" lines */
	const char *log; /* absolute, or "stderr" */
	const char *backend, *seed;
	int summary;
	int clean; /* do not inherit the caller's ALLOCFAIL_* settings */
};
/* Handles --rules, --rule, --set, --log, --backend, --seed, --summary;
   returns 1 if argv[*i] (and maybe its value) was consumed. */
int ruleopts_parse(struct ruleopts *o, int argc, char **argv, int *i);
/* Validates; on error prints the parser's message and exits 2. */
void ruleopts_check(const struct ruleopts *o);
/* The environment for a child: environ plus LD_PRELOAD and ALLOCFAIL_*.
   With o == NULL, the caller's own ALLOCFAIL_* injection settings are
   dropped (census runs). */
char **child_env(const struct ruleopts *o, const char *const *extra);

/* s (NULL: "") to f, each byte as escape() gives it: its replacement
   (buf, 16 bytes, is there to format one in), or NULL for the byte as is.
   The escaping of a text format (JSON, XML) is its escape(). */
typedef const char *(*escape_fn)(unsigned char c, char *buf);
void put_escaped(FILE *f, const char *s, escape_fn escape);

/* A file's whole content, NUL-terminated (malloc'ed), its length in
   *len; NULL with errno set when it cannot be read. */
char *read_whole(const char *path, size_t *len);
/* The same, or NULL with err "WHAT'path': why" (what: "cannot read ",
   "--baseline ", ...). */
char *read_whole_or_say(const char *path, size_t *len, const char *what, char *err,
			size_t errcap);

/* Resolve cmd through PATH; NULL if not found (errno set). */
char *find_command(const char *cmd);
/* This program's full path (malloc'ed); "allocfail" when it cannot be
   told. */
char *self_exe(void);
/* How to call this command in a printed command line: 'allocfail' when
   PATH finds this very program, else its full path. */
const char *self_command(void);
/* 1 when path is a statically linked ELF executable (LD_PRELOAD cannot
   reach it), 0 otherwise. */
/* Dies with status 2 and the reason when LD_PRELOAD cannot reach the
   allocator of the program at path (named name on the command line):
   statically linked, or run in secure-execution mode. prefix starts the
   message ("explore: " or ""). */
void check_preloadable(const char *prefix, const char *name, const char *path);
/* CLOCK_MONOTONIC in seconds */
double mono_now(void);
/* Exit status as a shell reports it: the code, or 128 + signal. */
int shell_status(int wstatus);

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_sites(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);

#endif
