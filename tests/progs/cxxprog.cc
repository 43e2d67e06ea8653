// cxxprog.cc - a C++ program that throws and catches, uses containers,
// strings, shared pointers, aligned new and threads.
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct alignas(128) Wide {
	char c[300];
};

int main()
{
	std::map<std::string, std::vector<int>> m;
	for (int i = 0; i < 20000; i++)
		m[std::to_string(i % 101)].push_back(i);
	std::unordered_map<int, std::string> u;
	for (int i = 0; i < 5000; i++)
		u[i] = std::string(i % 50, 'x');
	int caught = 0;
	for (int i = 0; i < 2000; i++) {
		try {
			if (i % 3 == 0)
				throw std::runtime_error("e" + std::to_string(i));
			throw std::out_of_range("o");
		} catch (const std::runtime_error &e) {
			caught += 1;
		} catch (const std::exception &e) {
			caught += 2;
		}
	}
	std::mutex mu;
	std::set<long> results;
	std::vector<std::thread> ts;
	for (int t = 0; t < 4; t++)
		ts.emplace_back([&, t] {
			std::vector<std::shared_ptr<std::string>> v;
			long sum = 0;
			for (int i = 0; i < 20000; i++) {
				v.push_back(std::make_shared<std::string>(10 + (i * 7) % 200, 'a' + t));
				if (v.size() > 64) {
					sum += (long)v.front()->size();
					v.erase(v.begin());
				}
			}
			std::lock_guard<std::mutex> g(mu);
			results.insert(sum);
		});
	for (auto &t : ts)
		t.join();
	auto w = std::make_unique<Wide[]>(7);
	std::ostringstream os;
	os << m.size() << " " << u.size() << " " << caught << " " << results.size() << " "
	   << (reinterpret_cast<std::uintptr_t>(w.get()) % 128);
	std::cout << os.str() << std::endl;
	return 0;
}
