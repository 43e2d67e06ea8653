/* af_fmt.h - a small printf and string buffer that never allocate, for code
   that runs inside malloc, before main, or in a signal handler. */
#ifndef AF_FMT_H
#define AF_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Formats into buf (always NUL-terminated when cap > 0) and returns the
   length the whole output would have had, as snprintf does. Supports %s %.*s %c %d %i %u %x %X %p %% with the l, ll, z
   and j length modifiers, a width (or *), '0' and '-' flags, as printf
   formats them (tests/unit/test_fmt.c compares); no precision for numbers. */
size_t af_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
size_t af_fmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A fixed-capacity output buffer; writes past the end are dropped and
   remembered in `truncated`. */
struct af_buf {
	char *p;
	size_t len, cap;
	int truncated;
};
void af_buf_init(struct af_buf *b, char *storage, size_t cap);
void af_buf_putc(struct af_buf *b, char c);
void af_buf_puts(struct af_buf *b, const char *s);
void af_buf_putn(struct af_buf *b, const char *s, size_t n);
void af_buf_fmt(struct af_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s for a person's terminal: control characters (C0, DEL, C1)
   and bytes that are not UTF-8 as \xHH, so that names from the program
   (symbols, thread names, paths) cannot drive the terminal. */
void af_buf_text(struct af_buf *b, const char *s);
/* Appends s as a JSON string literal, quotes included. */
void af_buf_json(struct af_buf *b, const char *s);
/* How a byte stands inside a JSON string: its escape (in buf, 8 bytes, or
   a constant), or NULL for the byte itself. The one JSON escaping of the
   shim's logs and the command's reports. */
const char *af_json_escape(unsigned char c, char *buf);

/* 64-bit FNV-1a of n bytes, continuing from h (AF_FNV64_INIT to start):
   how explore's runner hashes a run's output, and how a --fork child's is
   hashed by the shim (af_fork.c), so that the two compare. */
#define AF_FNV64_INIT 0xcbf29ce484222325ull
uint64_t af_fnv64(uint64_t h, const void *p, size_t n);

/* write(2) the whole string, retrying on EINTR and short writes;
   errno is preserved. 0, or the error that stopped it. */
int af_write_all(int fd, const char *s, size_t n);
/* One diagnostic line "allocfail: ...\n" on fd with a single write; the
   message as af_buf_text writes it. */
void af_say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
