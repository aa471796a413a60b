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
#include <filesystem>
#include <fstream>
#include <string>
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
  for (int r = 0; r < rounds_wanted(); ++r) {
    const std::string source = "bench_source_" + std::to_string(r);
    bench::fill_stream(server.url(), source, n, kData);
    double router = 0, persister = 0;
    // Alternate which goes first, so neither always meets a warmer server.
    if (r % 2 == 1) persister = bench::persist_throughput(server.url(), "bench_persist_" + std::to_string(r), n, kData);
    router = router_throughput(server.url(), source, n, rules);
    if (r % 2 == 0) persister = bench::persist_throughput(server.url(), "bench_persist_" + std::to_string(r), n, kData);
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
  return bench::report("router_bench", figures);
}
