/* allocfail-demo.c - a small inventory report with planted allocation
   failure bugs, one of each kind `allocfail explore` reports:

     read_stock()    handled:   reports the failure and exits 1
     parse_item()    crash:     uses malloc's result without a check
     format_line()   silent:    skips an output line and still exits 0
     total_label()   hang:      waits for memory without asking again
     xmalloc()       abort:     the deliberate xmalloc-style abort
     load_prices()   sanitizer: leaks on its error path (LeakSanitizer
                                sees it in the -asan build under
                                --backend next)

   Run it as: allocfail explore -- allocfail-demo */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

struct item {
	char *name;
	int count;
	double price;
};

static const char *const stock[] = {"apples 12", "pears 7", "plums 30", "figs 3"};
#define NITEMS (int)(sizeof stock / sizeof *stock)

static NOINLINE void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fputs("allocfail-demo: fatal: out of memory\n", stderr);
		abort();
	}
	return p;
}

static NOINLINE char **read_stock(void)
{
	char **lines = calloc(NITEMS, sizeof *lines);
	if (!lines) {
		fputs("allocfail-demo: cannot read the stock list: out of memory\n", stderr);
		exit(1);
	}
	for (int i = 0; i < NITEMS; i++)
		lines[i] = (char *)stock[i];
	return lines;
}

static NOINLINE struct item *parse_item(const char *line)
{
	struct item *it = malloc(sizeof *it);
	const char *sp = strchr(line, ' ');
	it->name = xmalloc((size_t)(sp - line) + 1); /* crashes when malloc failed */
	memcpy(it->name, line, (size_t)(sp - line));
	it->name[sp - line] = 0;
	it->count = atoi(sp + 1);
	return it;
}

static NOINLINE int load_prices(struct item **items)
{
	double *table = malloc(NITEMS * sizeof *table);
	if (!table) {
		fputs("allocfail-demo: cannot load prices: out of memory\n", stderr);
		return -1;
	}
	char *scratch = malloc(256);
	if (!scratch) {
		fputs("allocfail-demo: cannot load prices: out of memory\n", stderr);
		return -1; /* leaks table */
	}
	for (int i = 0; i < NITEMS; i++) {
		snprintf(scratch, 256, "%s", items[i]->name);
		table[i] = 0.25 * (double)(strlen(scratch) + (size_t)i);
		items[i]->price = table[i];
	}
	free(scratch);
	free(table);
	return 0;
}

static NOINLINE char *format_line(const struct item *it)
{
	char *line = malloc(64);
	if (!line)
		return NULL;
	snprintf(line, 64, "%-8s %4d x %5.2f", it->name, it->count, it->price);
	return line;
}

static NOINLINE char *total_label(int total)
{
	char *label = malloc(32);
	while (!label) /* waits for memory, but never asks again */
		usleep(10000);
	snprintf(label, 32, "total: %d items", total);
	return label;
}

static void free_items(struct item **items, char **lines)
{
	for (int i = 0; i < NITEMS; i++) {
		free(items[i]->name);
		free(items[i]);
	}
	free(lines);
}

int main(void)
{
	char **lines = read_stock();
	struct item *items[NITEMS];
	for (int i = 0; i < NITEMS; i++)
		items[i] = parse_item(lines[i]);
	if (load_prices(items) < 0) {
		free_items(items, lines);
		return 1;
	}
	int total = 0;
	for (int i = 0; i < NITEMS; i++) {
		char *line = format_line(items[i]);
		if (!line)
			continue; /* the line is lost, and the report still "succeeds" */
		puts(line);
		free(line);
		total += items[i]->count;
	}
	char *label = total_label(total);
	puts(label);
	free(label);
	free_items(items, lines);
	return 0;
}
