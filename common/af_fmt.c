/* af_fmt.c - allocation-free formatting (see af_fmt.h for why). */
#include "af_fmt.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char hex_lower[] = "0123456789abcdef", hex_upper[] = "0123456789ABCDEF";

struct out {
	char *buf;
	size_t cap, len;
};

static void out_c(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_c(o, c);
}

/* prefix: "-" or "0x", after the spaces of a width and before its zeros */
static void out_num(struct out *o, uint64_t v, const char *prefix, unsigned base, int width,
		    int zero, int left, int upper)
{
	char tmp[24];
	int n = 0;
	const char *digits = upper ? hex_upper : hex_lower;
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	int len = n + (int)strlen(prefix);
	if (!left && !zero)
		out_pad(o, ' ', width - len);
	while (*prefix)
		out_c(o, *prefix++);
	if (!left && zero)
		out_pad(o, '0', width - len);
	while (n)
		out_c(o, tmp[--n]);
	if (left)
		out_pad(o, ' ', width - len);
}

size_t af_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = {buf, cap, 0};
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			out_c(&o, *f);
			continue;
		}
		f++;
		int zero = 0, left = 0, width = 0, prec = -1, lng = 0;
		for (;; f++) {
			if (*f == '0')
				zero = 1;
			else if (*f == '-')
				left = 1;
			else
				break;
		}
		if (*f == '*') {
			width = va_arg(ap, int);
			if (width < 0) { /* as printf: the '-' flag */
				left = 1;
				width = -width;
			}
			f++;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		if (*f == '.') {
			f++;
			prec = 0;
			if (*f == '*') {
				prec = va_arg(ap, int);
				f++;
			}
			while (*f >= '0' && *f <= '9')
				prec = prec * 10 + (*f++ - '0');
		}
		for (;; f++) {
			if (*f == 'l')
				lng++;
			else if (*f == 'z' || *f == 'j')
				lng = 2;
			else
				break;
		}
		switch (*f) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, long long) : va_arg(ap, int);
			if (lng == 1)
				v = (long)v;
			uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			out_num(&o, u, v < 0 ? "-" : "", 10, width, zero, left, 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			out_num(&o, v, "", *f == 'u' ? 10 : 16, width, zero, left, *f == 'X');
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			out_num(&o, v, "0x", 16, width, zero, left, 0);
			break;
		}
		case 'c':
			if (!left)
				out_pad(&o, ' ', width - 1);
			out_c(&o, (char)va_arg(ap, int));
			if (left)
				out_pad(&o, ' ', width - 1);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			/* with a precision, s need not be NUL-terminated; no
			   libc call (see af_write_all) */
			size_t n = 0;
			while ((prec < 0 || n < (size_t)prec) && s[n])
				n++;
			if (!left)
				out_pad(&o, ' ', width - (int)n);
			for (size_t i = 0; i < n; i++)
				out_c(&o, s[i]);
			if (left)
				out_pad(&o, ' ', width - (int)n);
			break;
		}
		case '%':
			out_c(&o, '%');
			break;
		case 0:
			f--;
			break;
		default:
			out_c(&o, '%');
			out_c(&o, *f);
			break;
		}
	}
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = 0;
	return o.len;
}

size_t af_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = af_vfmt(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

void af_buf_init(struct af_buf *b, char *storage, size_t cap)
{
	b->p = storage;
	b->len = 0;
	b->cap = cap;
	b->truncated = 0;
	if (cap)
		storage[0] = 0;
}

void af_buf_putn(struct af_buf *b, const char *s, size_t n)
{
	if (b->cap == 0 || b->len + n >= b->cap) {
		b->truncated = 1;
		n = b->cap && b->len + 1 < b->cap ? b->cap - 1 - b->len : 0;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	if (b->cap)
		b->p[b->len] = 0;
}

void af_buf_putc(struct af_buf *b, char c)
{
	af_buf_putn(b, &c, 1);
}

void af_buf_puts(struct af_buf *b, const char *s)
{
	af_buf_putn(b, s, strlen(s));
}

void af_buf_fmt(struct af_buf *b, const char *fmt, ...)
{
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	va_list ap;
	va_start(ap, fmt);
	size_t n = af_vfmt(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n >= room) {
		b->truncated = 1;
		n = room ? room - 1 : 0;
	}
	b->len += n;
}

/* The lead bytes of well-formed UTF-8 (The Unicode Standard, Table 3-7):
   the character's length and the range of its second byte (the others
   are 0x80..0xbf). */
static const struct {
	unsigned char first, last, n, lo, hi;
} utf8_leads[] = {
    {0xc2, 0xc2, 2, 0xa0, 0xbf}, /* not U+0080-U+009F: C1 controls (0x9b is a CSI) */
    {0xc3, 0xdf, 2, 0x80, 0xbf},
    {0xe0, 0xe0, 3, 0xa0, 0xbf}, /* not overlong */
    {0xe1, 0xec, 3, 0x80, 0xbf},
    {0xed, 0xed, 3, 0x80, 0x9f}, /* not a surrogate */
    {0xee, 0xef, 3, 0x80, 0xbf},
    {0xf0, 0xf0, 4, 0x90, 0xbf}, /* not overlong */
    {0xf1, 0xf3, 4, 0x80, 0xbf},
    {0xf4, 0xf4, 4, 0x80, 0x8f}, /* not past U+10FFFF */
};

/* Bytes of the UTF-8 character at p that is printable: 0 for a control
   character or a byte that does not start a well-formed character
   (overlong forms and surrogates included). */
static int printable_utf8(const unsigned char *p)
{
	unsigned c = p[0];
	if (c < 0x80)
		return c >= 0x20 && c != 0x7f;
	for (size_t k = 0; k < sizeof utf8_leads / sizeof *utf8_leads; k++) {
		if (c < utf8_leads[k].first || c > utf8_leads[k].last)
			continue;
		int n = utf8_leads[k].n;
		if (p[1] < utf8_leads[k].lo || p[1] > utf8_leads[k].hi)
			return 0;
		for (int i = 2; i < n; i++)
			if (p[i] < 0x80 || p[i] > 0xbf)
				return 0;
		return n;
	}
	return 0; /* 0x80..0xc1 (a continuation, overlong), 0xf5.. (past U+10FFFF) */
}

void af_buf_text(struct af_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (p && *p) {
		int n = printable_utf8(p);
		if (n) {
			af_buf_putn(b, (const char *)p, (size_t)n);
			p += n;
			continue;
		}
		char e[4] = {'\\', 'x', hex_lower[*p >> 4], hex_lower[*p & 15]};
		af_buf_putn(b, e, 4);
		p++;
	}
}

const char *af_json_escape(unsigned char c, char *buf)
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\t': return "\\t";
	case '\r': return "\\r";
	default:
		if (c >= 0x20 && c != 0x7f)
			return NULL;
		/* \u00XX */
		buf[0] = '\\', buf[1] = 'u', buf[2] = '0', buf[3] = '0';
		buf[4] = hex_lower[c >> 4], buf[5] = hex_lower[c & 15], buf[6] = 0;
		return buf;
	}
}

void af_buf_json(struct af_buf *b, const char *s)
{
	af_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		char e[8];
		const char *r = af_json_escape(*p, e);
		if (r)
			af_buf_puts(b, r);
		else
			af_buf_putc(b, (char)*p);
	}
	af_buf_putc(b, '"');
}

/* A raw system call: write() itself may be a sanitizer's interceptor,
   unusable while that runtime initializes. */
uint64_t af_fnv64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int af_write_all(int fd, const char *s, size_t n)
{
	int saved = errno, err = 0;
	while (n > 0) {
		ssize_t w = syscall(SYS_write, fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		s += w;
		n -= (size_t)w;
	}
	errno = saved;
	return err;
}

void af_say(int fd, const char *fmt, ...)
{
	char msg[1024], line[1024];
	va_list ap;
	va_start(ap, fmt);
	af_vfmt(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct af_buf b;
	af_buf_init(&b, line, sizeof line - 1);
	af_buf_puts(&b, "allocfail: ");
	af_buf_text(&b, msg);
	line[b.len++] = '\n';
	af_write_all(fd, line, b.len);
}
