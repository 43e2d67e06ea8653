/* hello.c - linked statically for the test that `run` refuses it. */
#include <stdio.h>
int main(void)
{
	puts("hello");
	return 0;
}
