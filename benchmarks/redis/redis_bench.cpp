// Redis adapter benchmarks, each beside a baseline measured in the same run
// against the same redis-server (started here, appendonly off: this
// measures the client, not the disk). Every figure runs three alternating
// rounds (ours and the baseline in turn, the order flipped each round) and
// reports the median of the ratios taken within a round, and their spread:
//
//   persist   bus -> Persister -> Redis with every message id handed back,
//             ~250-byte TradPal events, vs `redis-benchmark -c 1 -P 1024 XADD`
//             with the same payload (target >= 0.8x)
//   replay    a 1 M-entry stream replayed into the bus and decoded by a
//             subscriber with simdjson, vs a raw hiredis `XRANGE - + COUNT
//             1000` paging loop (target >= 0.7x)
//   tail      a StreamTail reading the same 1 M entries into the bus and its
//             decoding subscriber, vs a raw hiredis `XREAD COUNT 1000` loop
//             (target >= 0.8x)
//   latency   publish -> acknowledged at a steady 10 k and 100 k events/s
//             (p50, p99, p99.9), vs raw hiredis pipelined XADD round trips
//             scheduled at the same rate (target p50 and p99 <= 1.5x), and
//             vs the same raw loop beside one thread that only spins: ours
//             runs three busy threads (the publisher, whose pacing spins
//             between events, the persister's loop and Redis), the raw loop
//             two, and on a two-core machine that third thread is what the
//             tail waits behind.
//
// TRADPAL_BENCH_SCALE (default 1) scales every size: 0.02 is a smoke run.
// TRADPAL_BENCH_ONLY=persist|replay|tail|latency runs one group of figures.
#include <hiredis/hiredis.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/event_store.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/persister.h"
#include "adapters/redis/stream_tail.h"
#include "benchmarks/redis/bench_support.h"
#include "benchmarks/support/report.h"
#include "engine/event_json.h"
#include "engine/json.h"
#include "engine/subscriber_thread.h"
#include "redis_server.h"

namespace {

using namespace tradpal;
using namespace tradpal::redis;
using Clock = std::chrono::steady_clock;

using bench::scale;

// True when the group `name` is to run (TRADPAL_BENCH_ONLY unset: all).
bool selected(std::string_view name) {
  const char* only = std::getenv("TRADPAL_BENCH_ONLY");
  return only == nullptr || *only == '\0' || name == only;
}

std::size_t scaled(std::size_t n) { return std::max<std::size_t>(1000, static_cast<std::size_t>(n * scale())); }

// data for a ~250-byte event (the whole wire JSON, envelope included).
constexpr std::string_view kData =
    R"({"symbol": "BTC/USDT", "price": 45000.5, "volume": 1234.56, "bid": 44999.5, "ask": 45001.0})";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string sample_payload() {
  Event e;
  e.type = EventType::market_data_update;
  e.event_id = Uuid::generate_v4();
  e.timestamp_ns = now_ns();
  e.source = "data_service";
  e.data = std::string(kData);
  return event_json(e);
}

// ---- replay ------------------------------------------------------------------

// A bus whose one subscriber thread reads every event's price in place with
// simdjson, as a trading process would: the work a read-back feeds. Events
// come from Redis in pages, so the subscriber waits with Backoff (spin,
// yield, then sleep): on two cores a subscriber that yields in a loop between
// pages takes its share from Redis and the reader (median 0.82x of the raw
// loop with Yield against 1.1x with Backoff, in one run).
struct DecodingBus {
  DecodingBus()
      : thread(SubscriberThread::start<Backoff>(bus.subscribe(), [this, parser = simdjson::ondemand::parser()](
                                                                   const EventView& v, bool) mutable {
          double price = 0;
          auto doc = parse_data(parser, v);
          if (!doc.error() && !doc.value()["price"].get_double().get(price)) {
            checksum.store(checksum.load(std::memory_order_relaxed) + price, std::memory_order_relaxed);
          }
          seen.fetch_add(1, std::memory_order_release);
        })) {}
  // The measuring thread sleeps between looks: on two cores a third
  // spinning thread would take its share from Redis and the reader.
  void wait_for(std::uint64_t n) const {
    while (seen.load(std::memory_order_acquire) < n) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  Bus bus{BusOptions{.ring = {.capacity = std::size_t{64} << 20}}};
  std::atomic<std::size_t> seen{0};
  std::atomic<double> checksum{0};
  SubscriberThread thread;
};

double replay_throughput(const testing::RedisServer& server, const std::string& stream, std::size_t n) {
  DecodingBus d;
  EventStore store({.url = RedisUrl::parse(server.url()), .stream = stream});
  const auto start = Clock::now();
  const std::uint64_t replayed = store.replay({}, std::nullopt, std::nullopt, d.bus);
  d.wait_for(replayed);
  const double s = seconds_since(start);
  if (replayed != n) std::fprintf(stderr, "replay: %llu of %zu\n", static_cast<unsigned long long>(replayed), n);
  return static_cast<double>(replayed) / s;
}

// A StreamTail from the stream's start into the decoding bus: every entry
// XREAD, decoded in one validating pass and republished with its stream id.
double tail_throughput(const testing::RedisServer& server, const std::string& stream, std::size_t n) {
  DecodingBus d;
  IoThread io;
  StreamTailOptions o;
  o.connection.url = RedisUrl::parse(server.url());
  o.stream = stream;
  o.start = TailStart::beginning();
  o.bus = &d.bus;
  StreamTail tail(io, o);
  const auto start = Clock::now();
  tail.start();
  d.wait_for(n);
  const double s = seconds_since(start);
  tail.stop();
  return static_cast<double>(n) / s;
}

// The floor: a raw hiredis XREAD COUNT 1000 loop over the same entries.
double raw_xread_throughput(const testing::RedisServer& server, const std::string& stream) {
  redisContext* c = redisConnect("127.0.0.1", server.port());
  std::size_t count = 0;
  std::string last = "0-0";
  const auto t0 = Clock::now();
  for (;;) {
    const char* argv[] = {"XREAD", "COUNT", "1000", "STREAMS", stream.c_str(), last.c_str()};
    const std::size_t len[] = {5, 5, 4, 7, stream.size(), last.size()};
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, 6, argv, len));
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      if (r != nullptr) freeReplyObject(r);
      break;
    }
    const redisReply* entries = r->element[0]->element[1];
    count += entries->elements;
    const redisReply* id = entries->element[entries->elements - 1]->element[0];
    last.assign(id->str, id->len);
    freeReplyObject(r);
  }
  const double s = seconds_since(t0);
  redisFree(c);
  return static_cast<double>(count) / s;
}

// Deletes `key` (a stream a figure is done with).
void drop_key(const testing::RedisServer& server, const std::string& key) {
  redisContext* c = redisConnect("127.0.0.1", server.port());
  if (c == nullptr) return;
  const char* argv[] = {"DEL", key.c_str()};
  const std::size_t len[] = {3, key.size()};
  if (auto* r = static_cast<redisReply*>(redisCommandArgv(c, 2, argv, len)); r != nullptr) freeReplyObject(r);
  redisFree(c);
}

double raw_xrange_throughput(const testing::RedisServer& server, const std::string& stream) {
  redisContext* c = redisConnect("127.0.0.1", server.port());
  std::size_t count = 0;
  std::string start = "-";
  const auto t0 = Clock::now();
  for (;;) {
    const char* argv[] = {"XRANGE", stream.c_str(), start.c_str(), "+", "COUNT", "1000"};
    const std::size_t len[] = {6, stream.size(), start.size(), 1, 5, 4};
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, 6, argv, len));
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      if (r != nullptr) freeReplyObject(r);
      break;
    }
    count += r->elements;
    const redisReply* last = r->element[r->elements - 1]->element[0];
    start.assign(1, '(').append(last->str, last->len);  // exclusive: after the last one read
    const bool more = r->elements == 1000;
    freeReplyObject(r);
    if (!more) break;
  }
  const double s = seconds_since(t0);
  redisFree(c);
  return static_cast<double>(count) / s;
}

// ---- latency -----------------------------------------------------------------

struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0;
};

Percentiles percentiles(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))]; };
  return {at(0.50), at(0.99), at(0.999)};
}

// Waits (spinning the last stretch) until the scheduled time of event i.
void wait_until(Clock::time_point t) {
  while (Clock::now() < t) {
    if (t - Clock::now() > std::chrono::microseconds(200)) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

Percentiles persist_latency(const testing::RedisServer& server, double rate, std::size_t n) {
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{64} << 20}}};
  IoThread io;
  DurabilityTracker tracker;
  Persister persister(bus, io, bench::persister_options(server.url(), "bench_latency", &tracker));
  std::vector<Clock::time_point> sent(n);
  std::vector<double> micros(n, -1);
  std::atomic<std::size_t> done{0};
  const auto period = std::chrono::duration<double>(1.0 / rate);
  const auto start = Clock::now() + std::chrono::milliseconds(10);
  for (std::size_t i = 0; i < n; ++i) {
    const auto t = start + std::chrono::duration_cast<Clock::duration>(period * static_cast<double>(i));
    wait_until(t);
    // Latency from the scheduled time: a publisher that falls behind counts.
    sent[i] = t;
    const std::uint64_t token = tracker.track([&, i](std::string_view) {
      micros[i] = std::chrono::duration<double, std::micro>(Clock::now() - sent[i]).count();
      done.fetch_add(1, std::memory_order_release);
    });
    (void)bus.publish({.type = EventType::market_data_update, .source = "data_service", .data = kData,
                       .correlation = token});
  }
  while (done.load(std::memory_order_acquire) < n) std::this_thread::sleep_for(std::chrono::microseconds(200));
  return percentiles(std::move(micros));
}

// The floor: one thread pipelines what is due, then reads the replies.
// beside_spinner adds a thread that only spins while it runs, so the raw
// loop competes for the cores as the persister does (its publisher spins).
Percentiles raw_latency(const testing::RedisServer& server, double rate, std::size_t n, const std::string& payload,
                        bool beside_spinner = false) {
  std::atomic<bool> stop_spinner{false};
  std::thread spinner;
  if (beside_spinner) {
    spinner = std::thread([&] {
      while (!stop_spinner.load(std::memory_order_relaxed)) {
      }
    });
  }
  redisContext* c = redisConnect("127.0.0.1", server.port());
  std::vector<double> micros;
  micros.reserve(n);
  const auto period = std::chrono::duration<double>(1.0 / rate);
  const auto start = Clock::now() + std::chrono::milliseconds(10);
  auto scheduled = [&](std::size_t i) {
    return start + std::chrono::duration_cast<Clock::duration>(period * static_cast<double>(i));
  };
  std::size_t next = 0;
  while (next < n) {
    wait_until(scheduled(next));
    // Pipeline everything that is due, then wait for those replies.
    const std::size_t first = next;
    const auto now = Clock::now();
    while (next < n && scheduled(next) <= now) {
      redisAppendCommand(c, "XADD bench_raw_latency * event %b", payload.data(), payload.size());
      ++next;
    }
    for (std::size_t i = first; i < next; ++i) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK) break;
      freeReplyObject(r);
      micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - scheduled(i)).count());
    }
  }
  redisFree(c);
  stop_spinner.store(true);
  if (spinner.joinable()) spinner.join();
  return percentiles(std::move(micros));
}

}  // namespace

int main() {
  using tradpal::bench::Figure;
  testing::RedisServer server(testing::RedisServer::Options{.appendonly = false});
  const std::string payload = sample_payload();
  std::printf("payload: %zu bytes, scale %.3g\n", payload.size(), scale());
  std::vector<Figure> figures;

  // Throughput figures: kRounds alternating rounds (the baseline first in
  // odd rounds, ours first in even ones), each ratio taken within its
  // round, the median and spread reported (report.h's add_paired).
  constexpr int kRounds = 3;
  auto paired = [&](std::string name, const char* baseline, const char* target, double target_ratio,
                    const auto& round) {
    std::vector<double> ours, theirs;
    for (int r = 0; r < kRounds; ++r) {
      double o = 0, t = 0;
      if (r % 2 == 0) t = round(false, r);
      o = round(true, r);
      if (r % 2 == 1) t = round(false, r);
      ours.push_back(o);
      theirs.push_back(t);
      std::printf("%s round %d: ours %.0f events/s, %s %.0f events/s, ratio %.3f\n", name.c_str(), r + 1, o,
                  baseline, t, t > 0 ? o / t : 0.0);
    }
    bench::add_paired(figures,
                      {.name = std::move(name), .unit = "events/s", .baseline = baseline, .target = target,
                       .target_ratio = target_ratio},
                      ours, theirs);
  };

  if (selected("persist")) {
    const std::size_t persist_n = scaled(1'000'000);
    const std::string where = "-h 127.0.0.1 -p " + std::to_string(server.port()) + " -c 1";
    paired("redis_persist_250B_acked_throughput", "redis-benchmark -c1 -P1024 XADD", ">= 0.8x", 0.8,
           [&](bool ours, int r) {
             // A fresh stream each time, dropped after: every run appends to
             // a stream of the same (empty) start, and Redis' memory stays flat.
             std::string stream = ours ? "bench_persist_" : "bench_baseline_";
             stream += std::to_string(r);
             const double rate = ours ? bench::persist_throughput(server.url(), stream, persist_n, kData)
                                      : bench::redis_benchmark_xadd(where, persist_n, payload, stream);
             drop_key(server, stream);
             return rate;
           });
  }

  if (selected("replay")) {
    const std::size_t replay_n = scaled(1'000'000);
    bench::fill_stream(server.url(), "bench_replay", replay_n, kData);
    paired("redis_replay_to_bus_simdjson_throughput", "raw hiredis XRANGE COUNT 1000 loop", ">= 0.7x", 0.7,
           [&](bool ours, int) {
             return ours ? replay_throughput(server, "bench_replay", replay_n)
                         : raw_xrange_throughput(server, "bench_replay");
           });
    drop_key(server, "bench_replay");
  }

  if (selected("tail")) {
    const std::size_t tail_n = scaled(1'000'000);
    bench::fill_stream(server.url(), "bench_tail", tail_n, kData);
    paired("redis_tail_to_bus_simdjson_throughput", "raw hiredis XREAD COUNT 1000 loop", ">= 0.8x", 0.8,
           [&](bool ours, int) {
             return ours ? tail_throughput(server, "bench_tail", tail_n) : raw_xread_throughput(server, "bench_tail");
           });
    drop_key(server, "bench_tail");
  }

  for (const double rate : {10'000.0, 100'000.0}) {
    if (!selected("latency")) break;
    const std::size_t n = scaled(static_cast<std::size_t>(rate * 5));
    // One value per round and percentile, for each contender, alternating.
    std::vector<Percentiles> ours, raw, spun;
    for (int r = 0; r < kRounds; ++r) {
      raw.push_back(raw_latency(server, rate, n, payload));
      ours.push_back(persist_latency(server, rate, n));
      spun.push_back(raw_latency(server, rate, n, payload, /*beside_spinner=*/true));
      std::printf("latency @%.0f/s round %d (p50/p99/p99.9 us): ours %.0f/%.0f/%.0f, raw %.0f/%.0f/%.0f, "
                  "raw beside a spinner %.0f/%.0f/%.0f\n",
                  rate, r + 1, ours[r].p50, ours[r].p99, ours[r].p999, raw[r].p50, raw[r].p99, raw[r].p999,
                  spun[r].p50, spun[r].p99, spun[r].p999);
    }
    const std::string tag = rate < 50'000 ? "10k" : "100k";
    auto column = [](const std::vector<Percentiles>& v, double Percentiles::*at) {
      std::vector<double> out;
      for (const Percentiles& p : v) out.push_back(p.*at);
      return out;
    };
    const struct {
      const char* name;
      double Percentiles::*at;
      const char* target;
      double target_ratio;
    } kinds[] = {{"p50", &Percentiles::p50, "<= 1.5x", 1.5},
                 {"p99", &Percentiles::p99, "<= 1.5x", 1.5},
                 {"p99.9", &Percentiles::p999, "", 0}};
    for (const auto& k : kinds) {
      bench::add_paired(figures,
                        {.name = "redis_publish_to_ack_" + tag + "_" + k.name,
                         .unit = "us",
                         .baseline = "raw hiredis pipelined XADD @" + tag + "/s",
                         .higher_is_better = false,
                         .target = k.target,
                         .target_ratio = k.target_ratio},
                        column(ours, k.at), column(raw, k.at));
      bench::add_paired(figures,
                        {.name = "redis_publish_to_ack_" + tag + "_" + k.name + "_vs_three_threads",
                         .unit = "us",
                         .baseline = "the same raw loop beside a spinning thread",
                         .higher_is_better = false},
                        column(ours, k.at), column(spun, k.at));
    }
  }
  return tradpal::bench::report("redis_bench", figures);
}
