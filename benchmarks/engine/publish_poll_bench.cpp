// benchmarks/engine/publish_poll_bench.cpp
//
// What one event costs the bus on a single thread: publish it (try_claim,
// write data and metadata in place, commit) and poll it back (one event per
// poll, the handler reads the first 8 bytes of its data), with no other
// thread involved, so no cache line moves between cores. This is the CPU
// work the bus adds to every event, on the publisher and subscriber sides
// together.
//
// Baselines, same thread, same run, same bytes (source + data + metadata):
//   * moodycamel_enqueue_dequeue: a struct of that size through
//     moodycamel::ConcurrentQueue, try_enqueue with a ProducerToken and
//     try_dequeue with a ConsumerToken: the general-purpose queue the bus is
//     compared with everywhere else.
//   * atomic_queue_push_pop: the same struct through atomic_queue's SPSC
//     AtomicQueue2, try_push and try_pop.
//   * memcpy_floor: copy the bytes into a preallocated buffer at a moving
//     offset and read the first 8 bytes back: what any hand-over through
//     memory costs at least.
// The bus also stamps each event with the time (now_ns) and a fresh
// v4 id; bus_preset_id_and_time gives both in the request to show their share.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>
#include <atomic_queue/atomic_queue.h>
#include <concurrentqueue/concurrentqueue.h>

#include "benchmarks/engine/harness.h"
#include "benchmarks/support/report.h"
#include "engine/bus.h"
#include "engine/clock.h"
#include "engine/publication.h"

namespace {

constexpr std::size_t kRingBytes = std::size_t{1} << 20;
constexpr std::string_view kSource = "bench";
constexpr std::string_view kMetadata = "{}";

using tradpal::bench::first_word;
using tradpal::bench::Item;

// Where the publishing thread claims: the bus's shared ring (a CAS per
// claim), the same ring promised to one producer (single_producer: a plain
// store), or an exclusive Publication (its own lane, a plain store).
enum class Path { shared, single_producer, publication };

void BusPublishPoll(benchmark::State& state, std::size_t event_bytes, bool preset, Path path = Path::shared) {
  const std::size_t data_size = event_bytes - kSource.size() - kMetadata.size();
  const std::string data(data_size, 'x');
  tradpal::Bus bus({.ring = {.capacity = kRingBytes, .single_producer = path == Path::single_producer}});
  tradpal::Subscription sub = bus.subscribe();
  tradpal::Publication publication;
  if (path == Path::publication) publication = bus.publication();
  tradpal::ClaimRequest request{.type = tradpal::EventType::market_data_update,
                                .source = kSource,
                                .data_size = data.size(),
                                .metadata_size = kMetadata.size()};
  if (preset) {
    request.timestamp_ns = 1'700'000'000'000'000'000;
    request.event_id = tradpal::Uuid::generate_v4();
  }
  std::uint64_t sum = 0;
  auto handler = [&sum](const tradpal::EventView& e, bool) { sum += first_word(e.data().data()); };
  tradpal::Claim claim;
  for (auto _ : state) {
    const tradpal::PublishStatus claimed =
        path == Path::publication ? publication.try_claim(request, claim) : bus.try_claim(request, claim);
    if (claimed != tradpal::PublishStatus::ok) {
      state.SkipWithError("claim failed");
      break;
    }
    std::memcpy(claim.data(), data.data(), data.size());
    std::memcpy(claim.metadata(), kMetadata.data(), kMetadata.size());
    claim.commit();
    if (sub.poll(handler, 1) != 1) {
      state.SkipWithError("poll delivered nothing");
      break;
    }
  }
  benchmark::DoNotOptimize(sum);
}

// The copying publish (try_publish of an EventSpec), which checks data and
// metadata first: JsonCheck::full (the default) parses both with simdjson,
// JsonCheck::shape looks at their first and last bytes only.
void BusTryPublishPoll(benchmark::State& state, std::size_t event_bytes, tradpal::JsonCheck check) {
  const std::size_t data_size = event_bytes - kSource.size() - kMetadata.size();
  std::string data = "{\"p\": \"";
  data.append(data_size - data.size() - 2, 'x');
  data += "\"}";
  tradpal::Bus bus({.ring = {.capacity = kRingBytes}, .json_check = check});
  tradpal::Subscription sub = bus.subscribe();
  const tradpal::EventSpec spec{.type = tradpal::EventType::market_data_update,
                                .source = kSource,
                                .data = data,
                                .metadata = kMetadata};
  std::uint64_t sum = 0;
  auto handler = [&sum](const tradpal::EventView& e, bool) { sum += first_word(e.data().data()); };
  for (auto _ : state) {
    if (bus.try_publish(spec) != tradpal::PublishStatus::ok) {
      state.SkipWithError("publish failed");
      break;
    }
    if (sub.poll(handler, 1) != 1) {
      state.SkipWithError("poll delivered nothing");
      break;
    }
  }
  benchmark::DoNotOptimize(sum);
}

template <std::size_t Bytes>
void QueueEnqueueDequeue(benchmark::State& state) {
  moodycamel::ConcurrentQueue<Item<Bytes>> queue(1024);
  moodycamel::ProducerToken producer(queue);
  moodycamel::ConsumerToken consumer(queue);
  Item<Bytes> item{};
  std::memset(item.bytes.data(), 'x', Bytes);
  Item<Bytes> out;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    if (!queue.try_enqueue(producer, item) || !queue.try_dequeue(consumer, out)) {
      state.SkipWithError("queue refused");
      break;
    }
    sum += first_word(out.bytes.data() + kSource.size());
  }
  benchmark::DoNotOptimize(sum);
}

template <std::size_t Bytes>
void AtomicQueuePushPop(benchmark::State& state) {
  using Queue = atomic_queue::AtomicQueue2<Item<Bytes>, 1024, true, true, false, true>;
  auto queue = std::make_unique<Queue>();
  Item<Bytes> item{};
  std::memset(item.bytes.data(), 'x', Bytes);
  Item<Bytes> out;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    if (!queue->try_push(item) || !queue->try_pop(out)) {
      state.SkipWithError("queue refused");
      break;
    }
    sum += first_word(out.bytes.data() + kSource.size());
  }
  benchmark::DoNotOptimize(sum);
}

template <std::size_t Bytes>
void MemcpyFloor(benchmark::State& state) {
  std::vector<char> buffer(kRingBytes);
  std::array<char, Bytes> item;
  std::memset(item.data(), 'x', Bytes);
  std::size_t offset = 0;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    char* slot = buffer.data() + offset;
    std::memcpy(slot, item.data(), Bytes);
    benchmark::ClobberMemory();
    sum += first_word(slot + kSource.size());
    offset = (offset + 256) & (kRingBytes - 1);
  }
  benchmark::DoNotOptimize(sum);
}

// The time stamp every event gets: now_ns() (the TSC clock, engine/clock.h)
// against the clock_gettime(CLOCK_REALTIME) it replaces.
void ClockNowNs(benchmark::State& state) {
  std::int64_t sum = 0;
  for (auto _ : state) sum += tradpal::now_ns();
  benchmark::DoNotOptimize(sum);
}

void ClockGettime(benchmark::State& state) {
  std::int64_t sum = 0;
  for (auto _ : state) sum += tradpal::detail::realtime_ns();
  benchmark::DoNotOptimize(sum);
}

void configure(benchmark::internal::Benchmark* b) {
  b->Iterations(tradpal::bench::scaled(10'000'000))->Unit(benchmark::kNanosecond);
}

constexpr int kRounds = 5;

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  tradpal::bench::Rounds rounds(kRounds);
  auto add = [&](const char* name, auto body) { rounds.add(name, body, configure); };
  using benchmark::State;
  using tradpal::JsonCheck;
  add("bus_publish_poll_64B", [](State& s) { BusPublishPoll(s, 64, false); });
  add("moodycamel_enqueue_dequeue_64B", [](State& s) { QueueEnqueueDequeue<64>(s); });
  add("atomic_queue_push_pop_64B", [](State& s) { AtomicQueuePushPop<64>(s); });
  add("memcpy_floor_64B", [](State& s) { MemcpyFloor<64>(s); });
  add("bus_publish_poll_250B", [](State& s) { BusPublishPoll(s, 250, false); });
  add("moodycamel_enqueue_dequeue_250B", [](State& s) { QueueEnqueueDequeue<250>(s); });
  add("memcpy_floor_250B", [](State& s) { MemcpyFloor<250>(s); });
  add("bus_preset_id_and_time_64B", [](State& s) { BusPublishPoll(s, 64, true); });
  add("bus_single_producer_64B", [](State& s) { BusPublishPoll(s, 64, false, Path::single_producer); });
  add("bus_publication_64B", [](State& s) { BusPublishPoll(s, 64, false, Path::publication); });
  add("bus_try_publish_shape_check_64B", [](State& s) { BusTryPublishPoll(s, 64, JsonCheck::shape); });
  add("bus_try_publish_full_check_64B", [](State& s) { BusTryPublishPoll(s, 64, JsonCheck::full); });
  add("clock_now_ns", [](State& s) { ClockNowNs(s); });
  add("clock_gettime_realtime", [](State& s) { ClockGettime(s); });
  rounds.register_all();

  tradpal::bench::ResultCollector results;
  benchmark::RunSpecifiedBenchmarks(&results);
  benchmark::Shutdown();

  auto ns = [&](const char* name) {
    return results.per_round(name, rounds.count(), [](const auto& run) { return run.GetAdjustedRealTime(); });
  };
  std::vector<tradpal::bench::Figure> figures;
  auto cost = [&](std::string name, const char* bus, const char* baseline, const char* target = "",
                  double target_ratio = 0) {
    tradpal::bench::add_paired(figures,
                               {.name = std::move(name), .unit = "ns/event", .baseline = baseline,
                                .higher_is_better = false, .target = target, .target_ratio = target_ratio},
                               ns(bus), ns(baseline));
  };
  cost("bus_publish_poll_64B", "bus_publish_poll_64B", "moodycamel_enqueue_dequeue_64B", "<= 1.5x", 1.5);
  cost("bus_publish_poll_64B_vs_atomic_queue", "bus_publish_poll_64B", "atomic_queue_push_pop_64B");
  cost("bus_publish_poll_64B_vs_memcpy", "bus_publish_poll_64B", "memcpy_floor_64B");
  cost("bus_publish_poll_250B", "bus_publish_poll_250B", "moodycamel_enqueue_dequeue_250B");
  cost("bus_publish_poll_250B_vs_memcpy", "bus_publish_poll_250B", "memcpy_floor_250B");
  cost("bus_preset_id_and_time_64B", "bus_preset_id_and_time_64B", "bus_publish_poll_64B");
  cost("bus_single_producer_64B", "bus_single_producer_64B", "moodycamel_enqueue_dequeue_64B", "<= 1.5x", 1.5);
  cost("bus_publication_64B", "bus_publication_64B", "moodycamel_enqueue_dequeue_64B", "<= 1.5x", 1.5);
  cost("bus_try_publish_shape_check_64B", "bus_try_publish_shape_check_64B", "moodycamel_enqueue_dequeue_64B");
  cost("bus_try_publish_full_check_64B", "bus_try_publish_full_check_64B", "bus_try_publish_shape_check_64B");
  tradpal::bench::add_paired(figures,
                             {.name = std::string("clock_now_ns (") + std::string(tradpal::clock_source()) + ")",
                              .unit = "ns/read",
                              .baseline = "clock_gettime_realtime",
                              .higher_is_better = false},
                             ns("clock_now_ns"), ns("clock_gettime_realtime"));

  std::printf(
      "\nSingle-thread cost of one event, publish + poll (ns/event, lower is better). %d rounds, each\n"
      "running every contender once in turn; ratios taken within a round, median and spread of the rounds.\n"
      "Baselines from the same run: the same bytes through moodycamel::ConcurrentQueue (token enqueue +\n"
      "dequeue), atomic_queue (SPSC push + pop) and the memcpy floor (copy into a buffer, read back). The bus's extra work: a 64-byte\n"
      "header with a time stamp (now_ns: the TSC clock where invariant) and a v4 id, the claim CAS and\n"
      "per-type counters. clock_now_ns is one time stamp, beside the clock_gettime it replaces.\n"
      "bus_preset_id_and_time passes both in the request; its ratio is the share they leave.\n"
      "bus_try_publish_*: the copying publish of an EventSpec; full_check (the default) parses data and\n"
      "metadata with simdjson first, its ratio to shape_check is the price of never storing bad JSON.\n",
      rounds.count());
  return tradpal::bench::report("engine_publish_poll", figures);
}
