#include "bench_support.h"

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/persister.h"
#include "engine/bus.h"

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

redis::PersisterOptions persister_options(const std::string& url, const std::string& stream,
                                          redis::DurabilityTracker* tracker) {
  redis::PersisterOptions o;
  o.connection.url = redis::RedisUrl::parse(url);
  o.stream = stream;
  o.listener = tracker;
  return o;
}

double persist_throughput(const std::string& redis_url, const std::string& stream, std::size_t n,
                          std::string_view data) {
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{64} << 20}}};
  redis::IoThread io;
  redis::DurabilityTracker tracker;
  redis::Persister persister(bus, io, persister_options(redis_url, stream, &tracker));
  std::atomic<std::size_t> acked{0};
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t token = tracker.track([&](std::string_view id) {
      if (!id.empty()) acked.fetch_add(1, std::memory_order_relaxed);
    });
    if (bus.publish({.type = EventType::market_data_update, .source = "data_service", .data = data,
                     .correlation = token}) != PublishStatus::ok) {
      tracker.cancel(token);
    }
  }
  while (acked.load(std::memory_order_relaxed) < n) std::this_thread::sleep_for(std::chrono::microseconds(100));
  return static_cast<double>(n) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void fill_stream(const std::string& redis_url, const std::string& stream, std::size_t n, std::string_view data) {
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{64} << 20}}};
  redis::IoThread io;
  redis::Persister persister(bus, io, persister_options(redis_url, stream, nullptr));
  for (std::size_t i = 0; i < n; ++i) {
    (void)bus.publish({.type = static_cast<EventType>(i % kEventTypeCount), .source = "data_service", .data = data});
  }
  (void)persister.wait_idle(std::chrono::minutes(5));
}

}  // namespace tradpal::bench
