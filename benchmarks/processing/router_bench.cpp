// The routing processor's throughput against the persister's on the same
// redis-server (started here, appendonly off: the client is measured, not
// the disk). The issue's target: the router >= 0.5x the persister.
//
//   router     tradpal-router's RouteProcessor reading a stream of n events
//              through its consumer group, matching three rules (one copies
//              every event to a target, two look inside data and match
//              none), writing each copy through the dedup script, and
//              acknowledging: events/s until the last acknowledgement
//   persister  the bus -> Persister -> Redis path, n events of the same
//              data, until the last message id is handed back
//
// One copy per event on each side, so each writes one stream entry per
// event; the router also reads the entry, sets its dedup key and acks.
// Contenders alternate in rounds (TRADPAL_BENCH_ROUNDS, default 3), ratios
// within a round. TRADPAL_BENCH_SCALE scales n (default 200,000).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <hiredis/hiredis.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

#include "benchmarks/redis/bench_support.h"
#include "benchmarks/support/report.h"
#include "adapters/redis/sync_client.h"
#include "redis_server.h"
#include "tools/router/route_processor.h"
#include "tools/router/router_metrics.h"

namespace {

using namespace tradpal;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kData =
    R"({"symbol": "BTC/USDT", "price": 45000.5, "volume": 1234.56, "bid": 44999.5, "ask": 45001.0})";

constexpr std::string_view kRules = R"({"rules": [
  {"name": "everything", "copy_to": "bench_routed"},
  {"name": "whales", "copy_to": "bench_whales",
   "when": {"all": [{"field": "type", "eq": "order_executed"}, {"field": "data.quantity", "gte": 1000000}]}},
  {"name": "expensive", "copy_to": "bench_expensive", "when": {"field": "data.price", "gt": 1000000}}
]})";

double router_throughput(const std::string& url, const std::string& source, std::size_t n,
                         const std::filesystem::path& rules) {
  router::RouterConfig config;
  config.redis_url = redis::RedisUrl::parse(url);
  config.rules_file = rules.string();
  config.source = source;
  config.consumer = "bench";
  config.from_start = true;
  config.metrics_listen.clear();
  router::RouterMetrics metrics;
  router::RouteProcessor processor(config, metrics);
  std::atomic<bool> stop{false}, reload{false};
  const auto start = Clock::now();
  std::thread worker([&] { processor.run(stop, reload); });
  while (metrics.events_acked->Value() < static_cast<double>(n)) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  worker.join();
  return static_cast<double>(n) / s;
}

// Redis's CPU time (INFO cpu: user + sys of the server's main thread and
// its I/O), and its own time per command (INFO commandstats) since the
// last reset: what bounds the router when Redis, not the router, is the
// busy side. Commands a script runs count inside EVAL too: the split
// lists them apart ("in eval").
struct RedisTime {
  double cpu_us = 0;
  std::string by_command;  // "eval 4.0, xreadgroup 1.0, ..." us per event
};

double redis_cpu_us(const std::string& url) {
  redis::ReplyPtr r = redis::SyncClient(redis::RedisUrl::parse(url)).command({"INFO", "cpu"});
  if (r->type != REDIS_REPLY_STRING) return 0;
  const std::string text(r->str, r->len);
  double total = 0;
  for (const char* key : {"used_cpu_sys:", "used_cpu_user:"}) {
    const auto at = text.find(key);
    if (at != std::string::npos) total += std::strtod(text.c_str() + at + std::strlen(key), nullptr);
  }
  return total * 1e6;
}

double reset_redis_stats(const std::string& url) {
  (void)redis::SyncClient(redis::RedisUrl::parse(url)).command({"CONFIG", "RESETSTAT"});
  return redis_cpu_us(url);
}

RedisTime redis_time(const std::string& url, double cpu_before, std::size_t events) {
  RedisTime t;
  t.cpu_us = redis_cpu_us(url) - cpu_before;
  redis::ReplyPtr r = redis::SyncClient(redis::RedisUrl::parse(url)).command({"INFO", "commandstats"});
  if (r->type != REDIS_REPLY_STRING) return t;
  const std::string_view text(r->str, r->len);
  const bool scripted = text.find("cmdstat_eval:") != std::string_view::npos;
  std::size_t at = 0;
  while ((at = text.find("cmdstat_", at)) != std::string_view::npos) {
    const std::size_t colon = text.find(':', at);
    const std::size_t usec = text.find("usec=", colon);
    if (colon == std::string_view::npos || usec == std::string_view::npos) break;
    const std::string name(text.substr(at + 8, colon - at - 8));
    const double us = std::strtod(std::string(text.substr(usec + 5, 24)).c_str(), nullptr) / static_cast<double>(events);
    at = usec;
    if (us < 0.005) continue;  // setup, the stats themselves
    const bool inner = scripted && (name == "xadd" || name == "smismember" || name == "sadd" || name == "expire");
    char part[96];
    std::snprintf(part, sizeof part, "%s%s %.2f%s", t.by_command.empty() ? "" : ", ", name.c_str(), us,
                  inner ? " in eval" : "");
    t.by_command += part;
  }
  return t;
}

int rounds_wanted() {
  const char* r = std::getenv("TRADPAL_BENCH_ROUNDS");
  const int n = r != nullptr ? std::atoi(r) : 3;
  return n > 0 ? n : 3;
}

}  // namespace

int main() {
  testing::RedisServer server(testing::RedisServer::Options{.appendonly = false});
  const std::size_t n = std::max<std::size_t>(1000, static_cast<std::size_t>(200'000 * bench::scale()));
  const auto rules = std::filesystem::temp_directory_path() / ("router_bench_rules_" + std::to_string(::getpid()) + ".json");
  std::ofstream(rules) << kRules;
  std::vector<double> ours, theirs;
  std::vector<double> redis_bounds;  // the ratio Redis's CPU allows the router, per round
  for (int r = 0; r < rounds_wanted(); ++r) {
    const std::string source = "bench_source_" + std::to_string(r);
    bench::fill_stream(server.url(), source, n, kData);
    double router = 0, persister = 0;
    // Alternate which goes first, so neither always meets a warmer server.
    // TRADPAL_BENCH_ONLY=router skips the baseline (for profiling the router).
    const char* only = std::getenv("TRADPAL_BENCH_ONLY");
    const bool baseline = only == nullptr || std::string_view(only) != "router";
    RedisTime router_time, persister_time;
    auto run_persister = [&] {
      const double cpu = reset_redis_stats(server.url());
      persister = bench::persist_throughput(server.url(), "bench_persist_" + std::to_string(r), n, kData);
      persister_time = redis_time(server.url(), cpu, n);
    };
    if (baseline && r % 2 == 1) run_persister();
    const double cpu = reset_redis_stats(server.url());
    router = router_throughput(server.url(), source, n, rules);
    router_time = redis_time(server.url(), cpu, n);
    if (baseline && r % 2 == 0) run_persister();
    const double events = static_cast<double>(n);
    std::printf("round %d: Redis CPU per event: router %.2f us (commands: %s); persister %.2f us (commands: %s)\n",
                r + 1, router_time.cpu_us / events, router_time.by_command.c_str(), persister_time.cpu_us / events,
                persister_time.by_command.c_str());
    if (persister > 0 && router_time.cpu_us > 0) {
      // The most events/s Redis can give the router, over the persister's.
      redis_bounds.push_back(1e6 / (router_time.cpu_us / events) / persister);
    }
    std::printf("round %d: router %.0f events/s, persister %.0f events/s, ratio %.3f\n", r + 1, router, persister,
                router / persister);
    ours.push_back(router);
    theirs.push_back(persister);
    // Keep the server's memory flat across rounds.
    (void)redis::SyncClient(redis::RedisUrl::parse(server.url())).command({"FLUSHALL"});
  }
  std::filesystem::remove(rules);
  std::vector<bench::Figure> figures;
  bench::add_paired(figures,
                    {.name = "router_copy_acked_throughput (3 rules, 1 copy per event)", .unit = "events/s",
                     .baseline = "persister (bus -> Redis acked)", .target = ">= 0.5x", .target_ratio = 0.5},
                    ours, theirs);
  std::printf("\n%zu events per round, ~250-byte events, one redis-server for both.\n", n);
  std::printf(
      "Bound: Redis runs one command at a time, so the router cannot route more events/s than one second\n"
      "of Redis CPU over Redis's CPU per routed event (its read, its script: XADD, dedup lookups and\n"
      "insert, and its acknowledgement). That over the persister's events/s: median %.3f here.\n",
      bench::median(redis_bounds));
  return bench::report("router_bench", figures);
}
