// benchmarks/engine/throughput_bench.cpp
//
// Throughput of the bus from publisher threads to subscriber threads, beside
// moodycamel::ConcurrentQueue and atomic_queue moving the same bytes in the
// same run, contenders alternated in rounds (harness.h's Rounds).
//
// Bus side: a Bus whose one subscriber is gating (BackPressure::block, so
// nothing is lost and a full ring back-pressures the publishers). Publishers
// use the zero-copy path: try_claim, write data and metadata in place,
// commit, with the defaults a trading process gets (time stamp now, fresh v4
// event id). The subscriber thread polls batches of up to kBatch events and
// reads the first 8 bytes of every event's data.
//
// Baseline: ConcurrentQueue of fixed-size structs as large as the event's
// source + data + metadata, each publisher enqueueing one at a time through
// its ProducerToken, the consumer dequeueing up to kBatch at a time with
// try_dequeue_bulk and a ConsumerToken and reading the first 8 bytes of
// each. The queue is preallocated with the ring's memory budget and filled
// with enqueue, which reuses those blocks and allocates only when a producer
// finds none free (try_enqueue could stall for good: see QueueThroughput).
//
// Second baseline: atomic_queue's AtomicQueue2 (Debian's libatomic-queue-dev)
// of the same structs and the same byte budget, try_push / try_pop one at a
// time; its SPSC variant where there is one producer and one consumer.
//
// Shapes: 1P->1S (one publisher, one subscriber), 2P->1S, and 3P->3S, where
// each of three subscribers sees every event. A queue hands each item to
// one consumer, so at 3P->3S the queues get the same work as the bus: one
// queue per consumer, and every producer enqueues each event into all three.
//
// The "tuned" bus figures use RingOptions::single_producer and pass the
// publisher's own time stamp (see BusSetup).
//
// Every side waits with the same SpinThenYield. With one publisher and one
// subscriber, the publisher runs on CPU 0 and the subscriber on CPU 1; other
// shapes share the two CPUs unpinned.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <atomic_queue/atomic_queue.h>
#include <concurrentqueue/concurrentqueue.h>

#include "benchmarks/engine/harness.h"
#include "benchmarks/support/report.h"
#include "engine/bus.h"

namespace {

using tradpal::bench::SpinThenYield;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 256;
constexpr int kRounds = 5;
// Ring memory for the bus, and the same number of bytes of items for the
// queue. 1 MiB is one core's L2 on the reference machine; the engine's
// default (16 MiB) is measured beside it to show what the size costs.
constexpr std::size_t kRingBytes = std::size_t{1} << 20;
constexpr std::size_t kDefaultRingBytes = tradpal::RingOptions{}.capacity;
constexpr std::string_view kSource = "bench";
constexpr std::string_view kMetadata = "{}";

// The data of an event whose source + data + metadata add up to
// `event_bytes`: a JSON object padded to size.
std::string make_data(std::size_t event_bytes) {
  std::string data = "{\"p\":\"";
  data.append(event_bytes - kSource.size() - kMetadata.size() - data.size() - 2, 'x');
  data += "\"}";
  return data;
}

using tradpal::bench::first_word;
using tradpal::bench::Item;

// Publisher and subscriber thread counts.
struct Shape {
  int producers = 1;
  int consumers = 1;
  [[nodiscard]] bool pinned() const noexcept { return producers == 1 && consumers == 1; }
};

// Runs shape.producers threads calling publish(index, wait_for_go) and
// shape.consumers threads calling consume(index, wait_for_go); each calls
// wait_for_go() when it is ready to start. Returns the seconds from the start
// signal until the last consumer returned.
template <typename Publish, typename Consume>
double timed_run(Shape shape, Publish publish, Consume consume) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point start;
  std::vector<Clock::time_point> ends(static_cast<std::size_t>(shape.consumers));
  auto wait_for_go = [&] {
    ready.fetch_add(1, std::memory_order_acq_rel);
    while (!go.load(std::memory_order_acquire)) tradpal::detail::cpu_relax();
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < shape.consumers; ++i) {
    threads.emplace_back([&, i] {
      if (shape.pinned()) tradpal::bench::pin_to_cpu(1);
      consume(i, wait_for_go);
      ends[static_cast<std::size_t>(i)] = Clock::now();
    });
  }
  for (int i = 0; i < shape.producers; ++i) {
    threads.emplace_back([&, i] {
      if (shape.pinned()) tradpal::bench::pin_to_cpu(0);
      publish(i, wait_for_go);
    });
  }
  while (ready.load(std::memory_order_acquire) != shape.producers + shape.consumers) std::this_thread::yield();
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  return std::chrono::duration<double>(*std::max_element(ends.begin(), ends.end()) - start).count();
}

// Events per run: about 4 M, a multiple of the publisher count.
std::int64_t events_for(Shape shape) { return tradpal::bench::scaled(4'000'000) / shape.producers * shape.producers; }

// How the bus side is set up: the default path, or the two knobs a trading
// process can turn (RingOptions::single_producer; passing its own time stamp
// and id, which the bus otherwise takes from the clock and the generator).
struct BusSetup {
  bool single_producer = false;
  bool caller_stamped = false;
  bool batch = false;  // Bus::try_publish_batch, kPublishBatch events a call
  // Bus::try_claim_batch of kPublishBatch claims, written in place, then
  // Bus::commit_batch: the zero-copy batch.
  bool claim_batch = false;
  // Each publisher claims through an exclusive Publication of its own (a
  // single-producer ring the subscribers merge) instead of the shared ring.
  bool publications = false;
};

constexpr std::size_t kPublishBatch = 32;

void BusThroughput(benchmark::State& state, Shape shape, std::size_t event_bytes, std::size_t ring_bytes,
                   BusSetup setup) {
  const int producers = shape.producers;
  const std::int64_t events = events_for(shape);
  const std::string data = make_data(event_bytes);
  // The ring is measured here: the batch path checks only the JSON's shape
  // (publish_poll_bench shows the price of the full check).
  tradpal::Bus bus({.ring = {.capacity = ring_bytes, .single_producer = setup.single_producer},
                    .json_check = tradpal::JsonCheck::shape,
                    .publication_capacity = ring_bytes});
  std::vector<tradpal::Subscription> subs;
  for (int i = 0; i < shape.consumers; ++i) subs.push_back(bus.subscribe());
  std::atomic<std::uint64_t> sink{0};
  for (auto _ : state) {
    auto publish = [&](int, auto& wait_for_go) {
      tradpal::ClaimRequest request{.type = tradpal::EventType::market_data_update,
                                    .source = kSource,
                                    .data_size = data.size(),
                                    .metadata_size = kMetadata.size()};
      // A caller-stamped event carries the time its publisher already has
      // (say, the exchange time of a tick); the id is still generated.
      const tradpal::TimestampNs feed_time = tradpal::now_ns();
      tradpal::Claim claim;
      SpinThenYield wait;
      // Publishes this thread's events in calls of up to kPublishBatch;
      // attempt(n) answers how many went in (0: back-pressured, so wait).
      auto in_batches = [&](auto attempt) {
        wait_for_go();
        for (std::int64_t left = events / producers; left > 0;) {
          const std::size_t done = attempt(static_cast<std::size_t>(std::min<std::int64_t>(left, kPublishBatch)));
          if (done == 0) {
            wait.idle();
            continue;
          }
          wait.reset();
          left -= static_cast<std::int64_t>(done);
        }
      };
      if (setup.batch) {
        std::vector<tradpal::EventSpec> specs(
            kPublishBatch, {.type = tradpal::EventType::market_data_update, .source = kSource, .data = data,
                            .metadata = kMetadata});
        in_batches([&](std::size_t n) { return bus.try_publish_batch(std::span(specs.data(), n)).published; });
        return;
      }
      if (setup.claim_batch) {
        const std::vector<tradpal::ClaimRequest> requests(kPublishBatch, request);
        std::vector<tradpal::Claim> claims(kPublishBatch);
        in_batches([&](std::size_t n) -> std::size_t {
          const std::span<tradpal::Claim> run(claims.data(), n);
          if (bus.try_claim_batch(std::span(requests.data(), n), run) != tradpal::PublishStatus::ok) return 0;
          for (tradpal::Claim& c : run) {
            std::memcpy(c.data(), data.data(), data.size());
            std::memcpy(c.metadata(), kMetadata.data(), kMetadata.size());
          }
          bus.commit_batch(run);
          return n;
        });
        return;
      }
      tradpal::Publication publication;
      if (setup.publications) publication = bus.publication();
      auto try_claim = [&]() noexcept {
        return setup.publications ? publication.try_claim(request, claim) : bus.try_claim(request, claim);
      };
      wait_for_go();
      for (std::int64_t i = events / producers; i > 0; --i) {
        if (setup.caller_stamped) request.timestamp_ns = feed_time + i;
        while (try_claim() != tradpal::PublishStatus::ok) wait.idle();
        wait.reset();
        std::memcpy(claim.data(), data.data(), data.size());
        std::memcpy(claim.metadata(), kMetadata.data(), kMetadata.size());
        claim.commit();
      }
    };
    auto consume = [&](int index, auto& wait_for_go) {
      tradpal::Subscription& sub = subs[static_cast<std::size_t>(index)];
      std::uint64_t sum = 0;
      auto handler = [&sum](const tradpal::EventView& e, bool) { sum += first_word(e.data().data()); };
      SpinThenYield wait;
      wait_for_go();
      for (std::int64_t seen = 0; seen < events;) {
        const std::size_t n = sub.poll(handler, kBatch);
        if (n == 0) {
          wait.idle();
        } else {
          wait.reset();
          seen += static_cast<std::int64_t>(n);
        }
      }
      sink.fetch_add(sum, std::memory_order_relaxed);
    };
    state.SetIterationTime(timed_run(shape, publish, consume));
  }
  benchmark::DoNotOptimize(sink.load());
  state.SetItemsProcessed(state.iterations() * events);
  state.SetBytesProcessed(state.iterations() * events * static_cast<std::int64_t>(event_bytes));
}

// The item every baseline queue moves: the bytes of the bus's event.
template <std::size_t Bytes>
Item<Bytes> make_item() {
  const std::string data = make_data(Bytes);
  Item<Bytes> item{};
  std::memcpy(item.bytes.data(), kSource.data(), kSource.size());
  std::memcpy(item.bytes.data() + kSource.size(), data.data(), data.size());
  std::memcpy(item.bytes.data() + kSource.size() + data.size(), kMetadata.data(), kMetadata.size());
  return item;
}

// One queue per consumer (one in all unless every consumer must see every
// event); producers enqueue each event into every queue.
template <std::size_t Bytes>
void QueueThroughput(benchmark::State& state, Shape shape) {
  using Queue = moodycamel::ConcurrentQueue<Item<Bytes>>;
  const int producers = shape.producers;
  const std::int64_t events = events_for(shape);
  const Item<Bytes> item = make_item<Bytes>();
  std::vector<std::unique_ptr<Queue>> queues;
  for (int i = 0; i < shape.consumers; ++i) queues.push_back(std::make_unique<Queue>(kRingBytes / sizeof(Item<Bytes>)));
  std::atomic<std::uint64_t> sink{0};
  std::atomic<std::size_t> peak_items{0};  // the most one queue was seen holding
  for (auto _ : state) {
    auto publish = [&](int, auto& wait_for_go) {
      std::vector<std::unique_ptr<moodycamel::ProducerToken>> tokens;
      for (auto& q : queues) tokens.push_back(std::make_unique<moodycamel::ProducerToken>(*q));
      SpinThenYield wait;
      wait_for_go();
      for (std::int64_t i = events / producers; i > 0; --i) {
        for (std::size_t q = 0; q < queues.size(); ++q) {
          // enqueue, not try_enqueue: blocks stay with the (recycled)
          // explicit producer that filled them, so with fresh tokens every
          // run a preallocated queue could end with every free block
          // stranded and try_enqueue failing for good. enqueue may allocate
          // a block then; from the second run on it reuses them.
          while (!queues[q]->enqueue(*tokens[q], item)) wait.idle();
          wait.reset();
        }
      }
    };
    auto consume = [&](int index, auto& wait_for_go) {
      Queue& queue = *queues[static_cast<std::size_t>(index)];
      moodycamel::ConsumerToken token(queue);
      std::vector<Item<Bytes>> batch(kBatch);
      std::uint64_t sum = 0;
      std::size_t peak = 0;
      SpinThenYield wait;
      wait_for_go();
      for (std::int64_t seen = 0, polls = 0; seen < events; ++polls) {
        // How many items the queue holds, sampled: enqueue grows it past
        // its preallocated budget when producers run ahead.
        if ((polls & 63) == 0) peak = std::max(peak, queue.size_approx());
        const std::size_t n = queue.try_dequeue_bulk(token, batch.begin(), kBatch);
        if (n == 0) {
          wait.idle();
          continue;
        }
        wait.reset();
        // The same work as the bus handler: look at the first word of each.
        for (std::size_t i = 0; i < n; ++i) sum += first_word(batch[i].bytes.data() + kSource.size());
        seen += static_cast<std::int64_t>(n);
      }
      sink.fetch_add(sum, std::memory_order_relaxed);
      std::size_t seen_peak = peak_items.load(std::memory_order_relaxed);
      while (seen_peak < peak && !peak_items.compare_exchange_weak(seen_peak, peak)) {
      }
    };
    state.SetIterationTime(timed_run(shape, publish, consume));
  }
  benchmark::DoNotOptimize(sink.load());
  state.SetItemsProcessed(state.iterations() * events);
  state.SetBytesProcessed(state.iterations() * events * static_cast<std::int64_t>(Bytes));
  state.counters["peak_MiB"] =
      static_cast<double>(peak_items.load() * sizeof(Item<Bytes>)) / static_cast<double>(std::size_t{1} << 20);
}

// atomic_queue's AtomicQueue2 (any element type, a state byte per slot), as
// many slots as the ring's bytes hold items; the SPSC variant at 1P->1S.
template <std::size_t Bytes, bool Spsc>
void AtomicQueueThroughput(benchmark::State& state, Shape shape) {
  constexpr unsigned kSlots = static_cast<unsigned>(kRingBytes / sizeof(Item<Bytes>));
  using Queue = atomic_queue::AtomicQueue2<Item<Bytes>, kSlots, true, true, false, Spsc>;
  const int producers = shape.producers;
  const std::int64_t events = events_for(shape);
  const Item<Bytes> item = make_item<Bytes>();
  std::vector<std::unique_ptr<Queue>> queues;
  for (int i = 0; i < shape.consumers; ++i) queues.push_back(std::make_unique<Queue>());
  std::atomic<std::uint64_t> sink{0};
  for (auto _ : state) {
    auto publish = [&](int, auto& wait_for_go) {
      SpinThenYield wait;
      wait_for_go();
      for (std::int64_t i = events / producers; i > 0; --i) {
        for (auto& q : queues) {
          while (!q->try_push(item)) wait.idle();
          wait.reset();
        }
      }
    };
    auto consume = [&](int index, auto& wait_for_go) {
      Queue& queue = *queues[static_cast<std::size_t>(index)];
      Item<Bytes> out;
      std::uint64_t sum = 0;
      SpinThenYield wait;
      wait_for_go();
      for (std::int64_t seen = 0; seen < events;) {
        if (!queue.try_pop(out)) {
          wait.idle();
          continue;
        }
        wait.reset();
        sum += first_word(out.bytes.data() + kSource.size());
        ++seen;
      }
      sink.fetch_add(sum, std::memory_order_relaxed);
    };
    state.SetIterationTime(timed_run(shape, publish, consume));
  }
  benchmark::DoNotOptimize(sink.load());
  state.SetItemsProcessed(state.iterations() * events);
}

// The floor for moving the bus's frames: a one-to-one ring of fixed records
// as large as the bus's frame for the same event (header line, body, padding
// line: frame_length()), laid out as the Disruptor lays its ring out. The
// producer writes a record (a 64-byte header and the event's bytes), then
// publishes its cursor; the consumer reads every record up to the cursor
// (the first word of each event) and publishes its own cursor once per
// batch. No claim CAS, no filters, no counters, no time stamp or id: what is
// left is moving the same cache lines from one core to the other.
template <std::size_t RecordBytes>
class FixedRecordRing {
 public:
  static constexpr std::int64_t kRecords = static_cast<std::int64_t>(kRingBytes / RecordBytes);

  FixedRecordRing() : records_(static_cast<std::size_t>(kRecords)) {}

  struct alignas(64) Record {
    std::array<char, RecordBytes> bytes;
  };
  Record& at(std::int64_t sequence) noexcept { return records_[static_cast<std::size_t>(sequence % kRecords)]; }

  alignas(64) std::atomic<std::int64_t> published{-1};
  alignas(64) std::atomic<std::int64_t> consumed{-1};

 private:
  std::vector<Record> records_;
};

template <std::size_t EventBytes>
void FixedRingThroughput(benchmark::State& state) {
  constexpr std::size_t kRecordBytes = tradpal::detail::frame_length(kSource.size(), EventBytes - kSource.size() -
                                                                     kMetadata.size(), kMetadata.size());
  using Ring = FixedRecordRing<kRecordBytes>;
  const std::int64_t events = tradpal::bench::scaled(4'000'000);
  const std::string data = make_data(EventBytes);
  std::uint64_t sink = 0;
  for (auto _ : state) {
    auto ring = std::make_unique<Ring>();
    auto publish = [&](int, auto& wait_for_go) {
      SpinThenYield wait;
      std::int64_t consumer_seen = -1;
      wait_for_go();
      for (std::int64_t next = 0; next < events; ++next) {
        while (next - consumer_seen > Ring::kRecords) {
          consumer_seen = ring->consumed.load(std::memory_order_acquire);
          if (next - consumer_seen > Ring::kRecords) wait.idle();
        }
        wait.reset();
        char* r = ring->at(next).bytes.data();
        std::memcpy(r, &next, sizeof next);  // the header line: sequence, sizes
        std::memcpy(r + 8, &events, sizeof events);
        std::memcpy(r + 64, kSource.data(), kSource.size());
        std::memcpy(r + 64 + kSource.size(), data.data(), data.size());
        std::memcpy(r + 64 + kSource.size() + data.size(), kMetadata.data(), kMetadata.size());
        ring->published.store(next, std::memory_order_release);
      }
    };
    auto consume = [&](int, auto& wait_for_go) {
      std::uint64_t sum = 0;
      SpinThenYield wait;
      wait_for_go();
      for (std::int64_t next = 0; next < events;) {
        const std::int64_t available = ring->published.load(std::memory_order_acquire);
        if (available < next) {
          wait.idle();
          continue;
        }
        wait.reset();
        const std::int64_t last = std::min<std::int64_t>(available, next + static_cast<std::int64_t>(kBatch) - 1);
        for (; next <= last; ++next) sum += first_word(ring->at(next).bytes.data() + 64 + kSource.size());
        ring->consumed.store(last, std::memory_order_release);
      }
      sink += sum;
    };
    state.SetIterationTime(timed_run(Shape{}, publish, consume));
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * events);
}

void configure(benchmark::internal::Benchmark* b) {
  b->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const BusSetup plain{};
  const BusSetup tuned{.single_producer = true, .caller_stamped = true};
  const BusSetup batch{.batch = true};
  const BusSetup claim_batch{.claim_batch = true};
  const BusSetup lanes{.publications = true};
  const Shape one{1, 1};
  const Shape two_to_one{2, 1};
  const Shape three_to_three{3, 3};
  tradpal::bench::Rounds rounds(kRounds);
  auto add = [&](const char* name, auto body) { rounds.add(name, body, configure); };
  using benchmark::State;
  add("bus_1p1s_64B", [=](State& s) { BusThroughput(s, one, 64, kRingBytes, plain); });
  add("bus_1p1s_64B_tuned", [=](State& s) { BusThroughput(s, one, 64, kRingBytes, tuned); });
  add("bus_1p1s_64B_batch", [=](State& s) { BusThroughput(s, one, 64, kRingBytes, batch); });
  add("bus_1p1s_64B_claim_batch", [=](State& s) { BusThroughput(s, one, 64, kRingBytes, claim_batch); });
  add("bus_1p1s_64B_publication", [=](State& s) { BusThroughput(s, one, 64, kRingBytes, lanes); });
  add("moodycamel_1p1s_64B", [=](State& s) { QueueThroughput<64>(s, one); });
  add("atomic_queue_1p1s_64B", [=](State& s) { AtomicQueueThroughput<64, true>(s, one); });
  add("fixed_record_ring_1p1s_64B", [](State& s) { FixedRingThroughput<64>(s); });
  add("bus_1p1s_250B", [=](State& s) { BusThroughput(s, one, 250, kRingBytes, plain); });
  add("bus_1p1s_250B_tuned", [=](State& s) { BusThroughput(s, one, 250, kRingBytes, tuned); });
  add("moodycamel_1p1s_250B", [=](State& s) { QueueThroughput<250>(s, one); });
  add("atomic_queue_1p1s_250B", [=](State& s) { AtomicQueueThroughput<250, true>(s, one); });
  add("bus_2p1s_64B", [=](State& s) { BusThroughput(s, two_to_one, 64, kRingBytes, plain); });
  add("bus_2p1s_64B_publications", [=](State& s) { BusThroughput(s, two_to_one, 64, kRingBytes, lanes); });
  add("moodycamel_2p1s_64B", [=](State& s) { QueueThroughput<64>(s, two_to_one); });
  add("atomic_queue_2p1s_64B", [=](State& s) { AtomicQueueThroughput<64, false>(s, two_to_one); });
  add("bus_2p1s_64B_publications_16MiB", [=](State& s) { BusThroughput(s, two_to_one, 64, kDefaultRingBytes, lanes); });
  add("bus_3p3s_64B", [=](State& s) { BusThroughput(s, three_to_three, 64, kRingBytes, plain); });
  add("bus_3p3s_64B_publications", [=](State& s) { BusThroughput(s, three_to_three, 64, kRingBytes, lanes); });
  add("moodycamel_3p3s_64B", [=](State& s) { QueueThroughput<64>(s, three_to_three); });
  add("atomic_queue_3p3s_64B", [=](State& s) { AtomicQueueThroughput<64, false>(s, three_to_three); });
  add("bus_3p3s_64B_publications_16MiB", [=](State& s) { BusThroughput(s, three_to_three, 64, kDefaultRingBytes, lanes); });
  add("bus_default_ring_1p1s_64B", [=](State& s) { BusThroughput(s, one, 64, kDefaultRingBytes, plain); });
  rounds.register_all();

  tradpal::bench::ResultCollector results;
  benchmark::RunSpecifiedBenchmarks(&results);
  benchmark::Shutdown();

  auto rate = [&](const char* name) { return results.per_round_counter(name, rounds.count(), "items_per_second"); };
  std::vector<tradpal::bench::Figure> figures;
  auto throughput = [&](const char* name, const char* bus, const char* queue, const char* baseline,
                        const char* target, double target_ratio) {
    tradpal::bench::add_paired(figures,
                               {.name = name, .unit = "events/s", .baseline = baseline, .target = target,
                                .target_ratio = target_ratio},
                               rate(bus), rate(queue));
  };
  throughput("bus_1p1s_64B_throughput", "bus_1p1s_64B", "moodycamel_1p1s_64B", "moodycamel_token_bulk_64B",
             ">= 1.0x", 1.0);
  throughput("bus_1p1s_64B_vs_atomic_queue", "bus_1p1s_64B", "atomic_queue_1p1s_64B", "atomic_queue_spsc_64B", "",
             0);
  throughput("bus_1p1s_64B_publication_throughput", "bus_1p1s_64B_publication", "moodycamel_1p1s_64B",
             "moodycamel_token_bulk_64B", ">= 1.0x", 1.0);
  throughput("bus_1p1s_64B_publication_vs_fixed_record_ring", "bus_1p1s_64B_publication", "fixed_record_ring_1p1s_64B",
             "fixed_record_ring_64B_frames", "", 0);
  throughput("bus_1p1s_64B_tuned_throughput", "bus_1p1s_64B_tuned", "moodycamel_1p1s_64B",
             "moodycamel_token_bulk_64B", ">= 1.3x", 1.3);
  throughput("bus_1p1s_64B_batch_throughput", "bus_1p1s_64B_batch", "moodycamel_1p1s_64B",
             "moodycamel_token_bulk_64B", ">= 1.5x", 1.5);
  throughput("bus_1p1s_64B_batch_vs_fixed_record_ring", "bus_1p1s_64B_batch", "fixed_record_ring_1p1s_64B",
             "fixed_record_ring_64B_frames", ">= 0.8x", 0.8);
  throughput("bus_1p1s_64B_claim_batch_throughput", "bus_1p1s_64B_claim_batch", "moodycamel_1p1s_64B",
             "moodycamel_token_bulk_64B", ">= 1.5x", 1.5);
  throughput("bus_1p1s_64B_claim_batch_vs_fixed_record_ring", "bus_1p1s_64B_claim_batch", "fixed_record_ring_1p1s_64B",
             "fixed_record_ring_64B_frames", ">= 0.8x", 0.8);
  throughput("fixed_record_ring_1p1s_64B_frames", "fixed_record_ring_1p1s_64B", "moodycamel_1p1s_64B",
             "moodycamel_token_bulk_64B", "", 0);
  throughput("atomic_queue_1p1s_64B", "atomic_queue_1p1s_64B", "moodycamel_1p1s_64B", "moodycamel_token_bulk_64B",
             "", 0);
  throughput("bus_1p1s_250B_throughput", "bus_1p1s_250B", "moodycamel_1p1s_250B", "moodycamel_token_bulk_250B",
             ">= 1.0x", 1.0);
  throughput("bus_1p1s_250B_tuned_throughput", "bus_1p1s_250B_tuned", "moodycamel_1p1s_250B",
             "moodycamel_token_bulk_250B", ">= 1.3x", 1.3);
  throughput("bus_1p1s_250B_vs_atomic_queue", "bus_1p1s_250B", "atomic_queue_1p1s_250B", "atomic_queue_spsc_250B",
             "", 0);
  throughput("bus_2p1s_64B_throughput", "bus_2p1s_64B", "moodycamel_2p1s_64B", "moodycamel_2tokens_bulk_64B",
             ">= 1.0x", 1.0);
  throughput("bus_2p1s_64B_publications_throughput", "bus_2p1s_64B_publications", "moodycamel_2p1s_64B",
             "moodycamel_2tokens_bulk_64B", ">= 1.0x", 1.0);
  throughput("bus_2p1s_64B_publications_16MiB_throughput", "bus_2p1s_64B_publications_16MiB", "moodycamel_2p1s_64B",
             "moodycamel_2tokens_bulk_64B", ">= 1.0x", 1.0);
  throughput("bus_2p1s_64B_vs_atomic_queue", "bus_2p1s_64B", "atomic_queue_2p1s_64B", "atomic_queue_mpmc_64B", "",
             0);
  throughput("bus_3p3s_64B_throughput", "bus_3p3s_64B", "moodycamel_3p3s_64B", "moodycamel_3_queues_64B",
             ">= 1.0x", 1.0);
  throughput("bus_3p3s_64B_publications_throughput", "bus_3p3s_64B_publications", "moodycamel_3p3s_64B",
             "moodycamel_3_queues_64B", ">= 1.0x", 1.0);
  throughput("bus_3p3s_64B_publications_16MiB_throughput", "bus_3p3s_64B_publications_16MiB", "moodycamel_3p3s_64B",
             "moodycamel_3_queues_64B", ">= 1.0x", 1.0);
  throughput("bus_3p3s_64B_vs_atomic_queue", "bus_3p3s_64B", "atomic_queue_3p3s_64B", "atomic_queue_3_queues_64B",
             "", 0);
  // What moodycamel's enqueue grew a queue to (the most one queue held,
  // sampled), beside the bytes the bus side had: with publications, the
  // bus's ring and one ring per publisher.
  auto peak = [&](const char* name, const char* queue, int publishers) {
    const double budget_mib = static_cast<double>(kRingBytes) / static_cast<double>(std::size_t{1} << 20);
    const double peak_mib = tradpal::bench::median(results.per_round_counter(queue, rounds.count(), "peak_MiB"));
    if (peak_mib <= 0) return;
    figures.push_back({.name = name, .value = peak_mib, .unit = "MiB", .baseline = "bus_1MiB_rings_bytes",
                       .baseline_value = budget_mib * (publishers + 1), .higher_is_better = false});
  };
  peak("moodycamel_2p1s_64B_peak_queue_bytes", "moodycamel_2p1s_64B", 2);
  peak("moodycamel_3p3s_64B_peak_queue_bytes", "moodycamel_3p3s_64B", 3);
  throughput("bus_default_16MiB_ring_1p1s_64B_throughput", "bus_default_ring_1p1s_64B", "bus_1p1s_64B",
             "bus_1MiB_ring_1p1s_64B", "", 0);

  std::printf(
      "\nEvents per second from publisher thread(s) to subscriber thread(s); %d rounds, each running every\n"
      "contender once in turn; ratios taken within a round, median and spread (min..max) of the rounds.\n"
      "An event of 64 B or 250 B is its source + data + metadata; the bus adds a 64-byte header (time\n"
      "stamp, v4 id, sizes) in the ring. The baselines move structs of the same size: moodycamel::\n"
      "ConcurrentQueue (producer token, bulk dequeue of %zu) and atomic_queue's AtomicQueue2 (SPSC at\n"
      "1p1s, try_push / try_pop). 3p3s: every subscriber sees every event; each queue baseline runs one\n"
      "queue per consumer and enqueues every event into each.\n"
      "batch: Bus::try_publish_batch of %zu events a call (one claim, one time stamp per call; each\n"
      "event's EventSpec copied in and its JSON's shape checked). claim_batch: the zero-copy batch,\n"
      "Bus::try_claim_batch of as many, each written in place, then Bus::commit_batch.\n"
      "publication(s): each publisher claims through an exclusive Publication (a ring of its own, no\n"
      "locked instruction per claim), which the subscribers read beside the bus's ring.\n"
      "fixed_record_ring: a one-to-one ring of records as large as the bus's frame (the Disruptor's\n"
      "layout): the floor for moving those cache lines between the two cores.\n"
      "Ratio > 1: the bus is faster. The last line compares the engine's default 16 MiB ring with\n"
      "the 1 MiB ring used above.\n"
      "moodycamel's enqueue allocates blocks when a producer finds none free, so with more threads\n"
      "than cores its producers run ahead of the consumer and the queue grows past its 1 MiB start\n"
      "(peak_queue_bytes, the most one queue held, against the bus side's bytes: its ring and one\n"
      "1 MiB ring per publication). The _16MiB rows give each publication the engine's default\n"
      "16 MiB, about what the queue grew to, where the 1 MiB rows hold the bus to the queue's start.\n",
      rounds.count(), kBatch, kPublishBatch);
  return tradpal::bench::report("engine_throughput", figures);
}
