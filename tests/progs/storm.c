/* storm.c - N threads allocating, resizing and freeing with checksums;
   prints a digest that must not depend on the allocator. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512
static int iterations = 200000;

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	unsigned char *slot[SLOTS] = {0};
	size_t len[SLOTS] = {0};
	uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1), digest = 0;
	for (int i = 0; i < iterations; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int k = (int)(x % SLOTS);
		size_t n = (size_t)(x >> 20) % ((x & 0xf) == 0 ? 70000 : 600);
		if (slot[k]) {
			for (size_t j = 0; j < len[k]; j++)
				if (slot[k][j] != (unsigned char)(k + len[k])) {
					fprintf(stderr, "corruption in thread %lu\n", (unsigned long)id);
					abort();
				}
			digest += len[k];
			if (x & 0x100) {
				free(slot[k]);
				slot[k] = NULL;
				continue;
			}
			slot[k] = realloc(slot[k], n + 1);
		} else {
			slot[k] = (x & 0x200) ? calloc(1, n + 1) : malloc(n + 1);
		}
		if (!slot[k])
			abort();
		len[k] = n + 1;
		memset(slot[k], (unsigned char)(k + len[k]), len[k]);
	}
	for (int k = 0; k < SLOTS; k++)
		free(slot[k]);
	return (void *)(uintptr_t)digest;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 8;
	if (argc > 2)
		iterations = atoi(argv[2]);
	pthread_t t[64];
	for (int i = 0; i < n && i < 64; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	uint64_t total = 0;
	for (int i = 0; i < n && i < 64; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (uintptr_t)r;
	}
	printf("%d threads digest %llu\n", n, (unsigned long long)total);
	return 0;
}
