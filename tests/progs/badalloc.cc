// badalloc.cc - operator new fails and nobody catches std::bad_alloc:
// std::terminate says so and aborts, a deliberate end.
#include <cstdio>
#include <string>

int main()
{
	std::string *s = new std::string(100, 'x');
	std::printf("%zu\n", s->size());
	delete s;
	return 0;
}
