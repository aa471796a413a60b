// Redis Cluster benchmarks, each beside baselines measured in the same run
// against the same servers (started here, appendonly off: this measures the
// clients and the servers, not the disk). ~250-byte TradPal events, every
// message id handed back to its publisher.
//
//   single    one plain redis-server: the Persister on one stream, vs
//             `redis-benchmark -c 1 -P 1024 XADD` (our own single-node figure)
//   cluster   1, 2 and 3 masters (no replicas): the persister with as many
//             partitions as masters (one stream, one connection per master),
//             vs `redis-benchmark --cluster -c <masters> -P 1024 XADD
//             bench:{tag}` (one connection per master, keys on every master),
//             and vs our own single-node figure of the same round
//   replicas  3 masters + 3 replicas, 3 partitions: acknowledged after WAIT 1
//             (per burst) vs acknowledged when the master has it
//
// Contenders alternate within each round; ratios are taken within a round
// and the median and spread reported. TRADPAL_BENCH_SCALE scales the event
// counts (0.02: a smoke run); TRADPAL_BENCH_ROUNDS sets the rounds (3).
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/partitioned_persister.h"
#include "benchmarks/redis/bench_support.h"
#include "benchmarks/support/report.h"
#include "engine/event_json.h"
#include "redis_cluster.h"
#include "redis_server.h"

namespace {

using namespace tradpal;
using namespace tradpal::redis;
using Clock = std::chrono::steady_clock;

using bench::scale;

int rounds() {
  const char* s = std::getenv("TRADPAL_BENCH_ROUNDS");
  const int v = s != nullptr ? std::atoi(s) : 3;
  return v > 0 ? v : 3;
}

// Symbols spread over the partitions; one per event in turn.
constexpr int kSymbols = 64;

std::string data_for(int symbol) {
  return R"({"symbol": "SYM)" + std::to_string(symbol) +
         R"(", "price": 45000.5, "volume": 1234.56, "bid": 44999.5, "ask": 45001.0})";
}

std::string sample_payload() {
  Event e;
  e.type = EventType::market_data_update;
  e.event_id = Uuid::generate_v4();
  e.timestamp_ns = now_ns();
  e.source = "data_service";
  e.data = data_for(10);
  return event_json(e);
}

// Events/s from the first publish to the last acknowledgement.
double persist(const std::string& url, std::size_t partitions, int replicas, std::size_t n, const std::string& stream) {
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{64} << 20}}};
  IoThread io;
  DurabilityTracker tracker;
  PersisterOptions o;
  o.connection.url = RedisUrl::parse(url);
  o.listener = &tracker;
  o.replicas = replicas;
  auto partitioning = std::make_shared<const Partitioning>(stream, PartitionOptions{.count = partitions});
  PartitionedPersister persister(bus, io, partitioning, o);
  std::vector<std::string> data;
  for (int s = 0; s < kSymbols; ++s) data.push_back(data_for(s));
  std::atomic<std::size_t> acked{0};
  const auto start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t token = tracker.track([&](std::string_view id) {
      if (!id.empty()) acked.fetch_add(1, std::memory_order_relaxed);
    });
    while (bus.publish({.type = EventType::market_data_update, .source = "data_service", .data = data[i % kSymbols],
                        .correlation = token}) != PublishStatus::ok) {
      std::this_thread::yield();
    }
  }
  while (acked.load(std::memory_order_relaxed) < n) std::this_thread::sleep_for(std::chrono::microseconds(100));
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main() {
  using tradpal::bench::Figure;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows as it happens
  const std::string payload = sample_payload();
  const std::size_t n = std::max<std::size_t>(2000, static_cast<std::size_t>(300'000 * scale()));
  const int r_count = rounds();
  std::printf("payload: %zu bytes, %zu events per run, %d rounds\n", payload.size(), n, r_count);
  std::vector<Figure> figures;

  // Our single-node figure, per round: also the yardstick of the cluster rows.
  std::vector<double> single(r_count), single_base(r_count);
  {
    testing::RedisServer server(testing::RedisServer::Options{.appendonly = false});
    const std::string where = "-h 127.0.0.1 -p " + std::to_string(server.port()) + " -c 1";
    for (int r = 0; r < r_count; ++r) {
      single_base[r] = bench::redis_benchmark_xadd(where, n, payload, "bench_baseline");
      single[r] = persist(server.url(), 1, 0, n, "bench_single_" + std::to_string(r));
      std::printf("single node round %d: ours %.0f/s, redis-benchmark %.0f/s\n", r + 1, single[r], single_base[r]);
    }
  }
  bench::add_paired(figures, {.name = "cluster_persist_single_node", .unit = "events/s",
                              .baseline = "redis-benchmark -c1 -P1024 XADD", .target = ">= 0.8x", .target_ratio = 0.8},
                    single, single_base);

  for (int masters = 1; masters <= 3; ++masters) {
    testing::RedisCluster cluster(testing::RedisCluster::Options{.masters = masters, .replicas = 0});
    // redis-benchmark's cluster mode wants two masters at least; one master
    // is the same as a plain connection to it with a key of its slots.
    const std::string where = masters == 1 ? "-h 127.0.0.1 -p " + std::to_string(cluster.ports()[0]) + " -c 1"
                                           : "--cluster -h 127.0.0.1 -p " + std::to_string(cluster.ports()[0]) +
                                                 " -c " + std::to_string(masters);
    std::vector<double> ours(r_count), base(r_count);
    for (int r = 0; r < r_count; ++r) {
      const std::string key = masters == 1 ? "bench:{b}" : "bench:{tag}";
      if (r % 2 == 0) base[r] = bench::redis_benchmark_xadd(where, n, payload, key);
      ours[r] = persist(cluster.url(), static_cast<std::size_t>(masters), 0, n, "bench_c" + std::to_string(r));
      if (r % 2 == 1) base[r] = bench::redis_benchmark_xadd(where, n, payload, key);
      std::printf("%d master(s) round %d: ours %.0f/s, redis-benchmark --cluster %.0f/s\n", masters, r + 1, ours[r],
                  base[r]);
    }
    const std::string tag = std::to_string(masters) + "_master" + (masters > 1 ? "s" : "");
    bench::add_paired(figures, {.name = "cluster_persist_" + tag, .unit = "events/s",
                                .baseline = masters == 1 ? std::string("redis-benchmark -c1 -P1024 XADD")
                                                         : "redis-benchmark --cluster -c" + std::to_string(masters) +
                                                               " -P1024 XADD",
                                .target = ">= 0.8x", .target_ratio = 0.8},
                      ours, base);
    // Against our own single node: what the extra masters buy on this machine.
    bench::add_paired(figures, {.name = "cluster_persist_" + tag + "_vs_single", .unit = "events/s",
                                .baseline = "our single-node persist"},
                      ours, single);
  }

  {
    testing::RedisCluster cluster(testing::RedisCluster::Options{.masters = 3, .replicas = 1});
    std::vector<double> waited(r_count), plain(r_count);
    for (int r = 0; r < r_count; ++r) {
      if (r % 2 == 0) plain[r] = persist(cluster.url(), 3, 0, n, "bench_p" + std::to_string(r));
      waited[r] = persist(cluster.url(), 3, 1, n, "bench_w" + std::to_string(r));
      if (r % 2 == 1) plain[r] = persist(cluster.url(), 3, 0, n, "bench_p" + std::to_string(r));
      std::printf("3+3 round %d: WAIT 1 %.0f/s, master only %.0f/s\n", r + 1, waited[r], plain[r]);
    }
    bench::add_paired(figures, {.name = "cluster_persist_3_masters_replicated_acks", .unit = "events/s",
                                .baseline = "the same, acknowledged by the master alone"},
                      waited, plain);
  }
  return bench::report("cluster_bench", figures);
}
