#include "bench_support.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace tradpal::bench {

double scale() {
  const char* s = std::getenv("TRADPAL_BENCH_SCALE");
  const double v = s != nullptr ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}

double redis_benchmark_xadd(const std::string& where, std::size_t n, const std::string& payload,
                            const std::string& key) {
  const std::string cmd = "redis-benchmark " + where + " -P 1024 -n " + std::to_string(n) + " -q XADD '" + key +
                          "' '*' event '" + payload + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return 0;
  std::string out;
  char buf[4096];
  std::size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  pclose(p);
  const auto at = out.rfind(" requests per second");
  if (at == std::string::npos) {
    std::fprintf(stderr, "redis-benchmark output not understood:\n%s\n", out.c_str());
    return 0;
  }
  auto begin = at;
  while (begin > 0 && (std::isdigit(static_cast<unsigned char>(out[begin - 1])) || out[begin - 1] == '.')) --begin;
  return std::atof(out.substr(begin, at - begin).c_str());
}

}  // namespace tradpal::bench
