// Concurrency tests of the bus: many producers, many subscribers, millions
// of events (scaled down under ThreadSanitizer through TRADPAL_TEST_SCALE).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <span>
#include <thread>
#include <vector>

#include "engine/bus.h"
#include "engine/clock.h"
#include "engine/subscriber_thread.h"

namespace tradpal {
namespace {

// Divides the event counts; tools/run sets it for sanitizer builds.
std::uint64_t scaled(std::uint64_t n) {
  const char* s = std::getenv("TRADPAL_TEST_SCALE");
  const std::uint64_t div = s != nullptr ? std::max(1L, std::strtol(s, nullptr, 10)) : 1;
  return std::max<std::uint64_t>(n / div, 1000);
}

// Events carry (producer, counter) at fixed offsets so checking them costs
// no parsing: {"p":P,"n":NNNNNNNNNNNN}
constexpr std::size_t kDataSize = 26;
// The counter is a string: a JSON number may not have leading zeros, and
// the bus checks data as JSON.
void write_data(char* out, unsigned producer, std::uint64_t n) {
  std::memcpy(out, "{\"p\":0,\"n\":\"000000000000\"}", kDataSize);
  out[5] = static_cast<char>('0' + producer);
  for (int i = 23; i >= 12; --i, n /= 10) out[i] = static_cast<char>('0' + n % 10);
}
void read_data(std::string_view data, unsigned& producer, std::uint64_t& n) {
  producer = static_cast<unsigned>(data[5] - '0');
  n = 0;
  for (int i = 12; i < 24; ++i) n = n * 10 + static_cast<std::uint64_t>(data[i] - '0');
}

// Publishes counters first .. first + count - 1 for `producer`.
void produce(Bus& bus, unsigned producer, std::uint64_t count, EventType type = EventType::market_data_update,
             std::uint64_t first = 0) {
  Yield wait;
  for (std::uint64_t n = first; n < first + count; ++n) {
    Claim c;
    PublishStatus s;
    while ((s = bus.try_claim({.type = type, .source = "p", .data_size = kDataSize, .metadata_size = 2}, c)) ==
           PublishStatus::back_pressured) {
      wait.idle(bus.ring());
    }
    ASSERT_EQ(s, PublishStatus::ok);
    wait.reset();
    write_data(c.data(), producer, n);
    std::memcpy(c.metadata(), "{}", 2);
    c.commit();
  }
}

// What one subscriber saw: per-producer next expected counter, and an
// order-sensitive digest of the sequences it received.
struct Observer {
  std::vector<std::uint64_t> next;
  std::uint64_t received = 0;
  std::uint64_t digest = 1469598103934665603ull;
  Sequence last_sequence = 0;
  bool ordered = true;
  bool gaps_allowed = false;
  std::uint64_t errors = 0;

  explicit Observer(unsigned producers, bool lossy = false) : next(producers, 0), gaps_allowed(lossy) {}

  void operator()(const EventView& v, bool) {
    unsigned p;
    std::uint64_t n;
    read_data(v.data(), p, n);
    if (p >= next.size()) {
      ++errors;
      return;
    }
    if (gaps_allowed ? n < next[p] : n != next[p]) ++errors;
    next[p] = n + 1;
    if (received != 0 && v.sequence() <= last_sequence) ordered = false;
    last_sequence = v.sequence();
    digest = (digest ^ v.sequence()) * 1099511628211ull;
    ++received;
  }
};

TEST(BusConcurrency, DeliversEveryEventToEverySubscriberInOneGlobalOrder) {
  constexpr unsigned kProducers = 3;
  constexpr unsigned kSubscribers = 3;
  const std::uint64_t per_producer = scaled(1'000'000);
  Bus bus({.ring = {.capacity = 1 << 20, .max_event_size = 1024}});
  std::vector<Observer> observers(kSubscribers, Observer(kProducers));
  std::vector<SubscriberThread> threads;
  for (unsigned s = 0; s < kSubscribers; ++s) {
    threads.push_back(SubscriberThread::start<Yield>(bus.subscribe(), [&o = observers[s]](const EventView& v, bool e) { o(v, e); }));
  }
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; ++p) producers.emplace_back([&, p] { produce(bus, p, per_producer); });
  for (auto& t : producers) t.join();
  bus.close();
  for (auto& t : threads) t.join();

  for (const Observer& o : observers) {
    EXPECT_EQ(o.errors, 0u) << "a loss, duplicate or reordering within one producer";
    EXPECT_EQ(o.received, kProducers * per_producer);
    for (unsigned p = 0; p < kProducers; ++p) EXPECT_EQ(o.next[p], per_producer);
    EXPECT_TRUE(o.ordered);
    EXPECT_EQ(o.digest, observers[0].digest) << "subscribers saw different global orders";
  }
  EXPECT_EQ(bus.published_total(), kProducers * per_producer);
}

// Batches of 1..40 events from two producers while a single-event producer
// claims between them: every subscriber sees every event once, each
// producer's in order, all in one global order.
TEST(BusConcurrency, BatchPublishersAndSinglePublishersShareOneOrder) {
  const std::uint64_t per_producer = scaled(300'000);
  Bus bus({.ring = {.capacity = 1 << 18, .max_event_size = 1024}});
  std::vector<Observer> observers(2, Observer(3));
  std::vector<SubscriberThread> threads;
  for (auto& o : observers) {
    threads.push_back(SubscriberThread::start<Yield>(bus.subscribe(), [&o](const EventView& v, bool e) { o(v, e); }));
  }
  auto batcher = [&](unsigned producer) {
    std::vector<std::string> data(40, std::string(kDataSize, ' '));
    std::vector<EventSpec> specs(40);
    std::uint64_t n = 0;
    unsigned size = 1;
    Yield wait;
    while (n < per_producer) {
      const std::size_t count = std::min<std::uint64_t>(size, per_producer - n);
      for (std::size_t i = 0; i < count; ++i) {
        write_data(data[i].data(), producer, n + i);
        specs[i] = {.type = EventType::trading_signal, .source = "b", .data = data[i]};
      }
      const auto r = bus.publish_batch<Yield>(std::span(specs.data(), count));
      ASSERT_EQ(r.status, PublishStatus::ok);
      ASSERT_EQ(r.published, count);
      n += count;
      size = size % 40 + 1;
    }
  };
  std::thread b0(batcher, 0), b1(batcher, 1);
  std::thread single([&] { produce(bus, 2, per_producer); });
  b0.join();
  b1.join();
  single.join();
  bus.close();
  for (auto& t : threads) t.join();
  for (const Observer& o : observers) {
    EXPECT_EQ(o.errors, 0u) << "a loss, duplicate or reordering within one producer";
    EXPECT_EQ(o.received, 3 * per_producer);
    EXPECT_TRUE(o.ordered);
    EXPECT_EQ(o.digest, observers[0].digest) << "subscribers saw different global orders";
  }
  EXPECT_EQ(bus.published_total(), 3 * per_producer);
}

// Ring::commit_batch publishes a run of frames as one: a subscriber that
// polls while batches of 8 land never finds part of one (it waits on the
// first frame, which is committed last).
TEST(BusConcurrency, CommittedBatchesAreSeenWhole) {
  constexpr std::size_t kRun = 8;
  const std::uint64_t runs = scaled(200'000) / kRun;
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 1024}});
  auto sub = bus.subscribe();
  std::atomic<bool> done{false};
  std::uint64_t torn = 0, received = 0, errors = 0;
  std::thread reader([&] {
    Observer o(1);
    Yield wait;
    for (;;) {
      const bool finished = done.load(std::memory_order_acquire);
      const std::size_t n = sub.poll([&o](const EventView& v, bool e) { o(v, e); });
      if (n % kRun != 0) ++torn;
      if (n == 0) {
        if (finished) break;
        wait.idle(bus.ring());
      } else {
        wait.reset();
      }
    }
    received = o.received;
    errors = o.errors;
  });
  std::vector<ClaimRequest> requests(
      kRun, {.type = EventType::trading_signal, .source = "r", .data_size = kDataSize, .metadata_size = 2});
  std::vector<Claim> claims(kRun);
  Yield wait;
  for (std::uint64_t r = 0; r < runs; ++r) {
    while (bus.ring().try_claim_batch(requests, claims) != PublishStatus::ok) wait.idle(bus.ring());
    wait.reset();
    for (std::size_t i = 0; i < kRun; ++i) {
      write_data(claims[i].data(), 0, r * kRun + i);
      std::memcpy(claims[i].metadata(), "{}", 2);
    }
    bus.ring().commit_batch(claims);
  }
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(torn, 0u) << "a poll delivered part of a committed batch";
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(received, runs * kRun);
}

TEST(BusConcurrency, FiltersAndPolledSubscribersUnderTraffic) {
  const std::uint64_t per_producer = scaled(300'000);
  Bus bus({.ring = {.capacity = 1 << 18, .max_event_size = 512}});
  auto signals = bus.subscribe({.types = {EventType::trading_signal}});
  std::thread a([&] { produce(bus, 0, per_producer, EventType::trading_signal); });
  std::thread b([&] { produce(bus, 1, per_producer, EventType::order_executed); });
  // Polled from this thread, as a trading loop on its pinned core would.
  Observer o(2);
  bool wrong_type = false;
  while (o.received < per_producer) {
    if (signals.poll([&](const EventView& v, bool e) {
          wrong_type |= v.type() != EventType::trading_signal;
          o(v, e);
        }, 256) == 0) {
      std::this_thread::yield();
    }
  }
  const std::uint64_t consumed = signals.consumed(EventType::trading_signal);
  // Producer b may still be publishing order_executed events that this
  // gating subscriber would have to pass: closing it releases b.
  signals.close();
  a.join();
  b.join();
  EXPECT_FALSE(wrong_type);
  EXPECT_EQ(o.errors, 0u);
  EXPECT_EQ(o.next[0], per_producer);
  EXPECT_EQ(consumed, per_producer);
}

TEST(BusConcurrency, LossySubscriberAccountsForEveryEvent) {
  constexpr unsigned kProducers = 2;
  const std::uint64_t per_producer = scaled(500'000);
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 512}});
  Observer fast(kProducers);
  auto fast_thread = SubscriberThread::start<Yield>(bus.subscribe(), [&](const EventView& v, bool e) { fast(v, e); });
  auto lossy = bus.subscribe({.mode = BackPressure::lossy});
  std::atomic<bool> done{false};
  Observer slow(kProducers, /*lossy=*/true);
  std::thread slow_thread([&] {
    // Reads in short bursts with pauses, so producers lap it again and again.
    while (true) {
      const bool finished = done.load(std::memory_order_acquire);
      while (lossy.poll([&](const EventView& v, bool e) { slow(v, e); }, 64) != 0) {
      }
      if (finished) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; ++p) producers.emplace_back([&, p] { produce(bus, p, per_producer); });
  for (auto& t : producers) t.join();
  bus.close();
  fast_thread.join();
  done.store(true, std::memory_order_release);
  slow_thread.join();

  EXPECT_EQ(fast.errors, 0u);
  EXPECT_EQ(fast.received, kProducers * per_producer);
  EXPECT_EQ(slow.errors, 0u) << "lossy delivery went backwards within a producer";
  EXPECT_TRUE(slow.ordered);
  EXPECT_GT(lossy.lost_total(), 0u) << "the test did not overrun the lossy subscriber";
  EXPECT_EQ(slow.received + lossy.lost_total(), kProducers * per_producer);
  EXPECT_EQ(lossy.lost(EventType::market_data_update), lossy.lost_total());
  EXPECT_EQ(bus.dropped(EventType::market_data_update), lossy.lost_total());
}

TEST(BusConcurrency, SubscribersComeAndGoWithoutLossForOthers) {
  constexpr unsigned kProducers = 2;
  const std::uint64_t per_producer = scaled(400'000);
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 512, .max_subscribers = 8}});
  Observer steady(kProducers);
  auto steady_thread =
      SubscriberThread::start<Yield>(bus.subscribe(), [&](const EventView& v, bool e) { steady(v, e); });
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> transient_errors{0};
  std::atomic<std::uint64_t> transient_events{0};
  std::atomic<int> rounds{0};
  std::thread churn([&] {
    bool lossy = false;
    while (!done.load(std::memory_order_acquire)) {
      auto sub = bus.subscribe({.mode = lossy ? BackPressure::lossy : BackPressure::block});
      // A gating transient subscriber must see a gap-free run per producer
      // from its first event on; a lossy one a monotonic run.
      std::vector<std::uint64_t> next(kProducers, UINT64_MAX);
      for (int i = 0; i < 50 && !done.load(std::memory_order_relaxed); ++i) {
        sub.poll([&](const EventView& v, bool) {
          unsigned p;
          std::uint64_t n;
          read_data(v.data(), p, n);
          if (p < kProducers) {
            if (next[p] != UINT64_MAX && (lossy ? n < next[p] : n != next[p])) transient_errors.fetch_add(1);
            next[p] = n + 1;
          }
          transient_events.fetch_add(1, std::memory_order_relaxed);
        }, 128);
        std::this_thread::yield();
      }
      sub.close();
      lossy = !lossy;
      rounds.fetch_add(1);
    }
  });
  // Producers keep going until the churn thread has come and gone a few
  // times, however fast they were (a scaled-down run can finish first).
  std::vector<std::uint64_t> sent(kProducers, 0);
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::uint64_t n = per_producer;
      produce(bus, p, per_producer);
      while (rounds.load() < 6) {
        produce(bus, p, 1000, EventType::market_data_update, n);
        n += 1000;
      }
      sent[p] = n;
    });
  }
  for (auto& t : producers) t.join();
  done.store(true, std::memory_order_release);
  churn.join();
  bus.close();
  steady_thread.join();

  EXPECT_EQ(steady.errors, 0u);
  EXPECT_EQ(steady.received, sent[0] + sent[1]);
  for (unsigned p = 0; p < kProducers; ++p) EXPECT_EQ(steady.next[p], sent[p]);
  EXPECT_EQ(transient_errors.load(), 0u);
  EXPECT_GE(rounds.load(), 6);
  EXPECT_GT(transient_events.load(), 0u);
}

template <typename Wait>
void every_wait_strategy_delivers() {
  const std::uint64_t count = scaled(200'000);
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 512}});
  Observer o(1);
  auto t = SubscriberThread::start<Wait>(bus.subscribe(), [&](const EventView& v, bool e) { o(v, e); });
  produce(bus, 0, count);
  bus.close();
  t.join();
  EXPECT_EQ(o.errors, 0u);
  EXPECT_EQ(o.received, count);
}

TEST(BusConcurrency, BusySpinDelivers) { every_wait_strategy_delivers<BusySpin>(); }
TEST(BusConcurrency, YieldDelivers) { every_wait_strategy_delivers<Yield>(); }
TEST(BusConcurrency, BackoffDelivers) { every_wait_strategy_delivers<Backoff>(); }
TEST(BusConcurrency, BlockDelivers) { every_wait_strategy_delivers<Block>(); }

TEST(BusConcurrency, BlockedSubscriberWakesForASingleEvent) {
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 512}});
  std::atomic<int> seen{0};
  auto t = SubscriberThread::start<Block>(bus.subscribe(), [&](const EventView&, bool) { seen.fetch_add(1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it fall asleep
  ASSERT_EQ(bus.try_publish({}), PublishStatus::ok);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (seen.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(seen.load(), 1);
}

// Publishes counters 0 .. count - 1 for `producer` through a publication.
void produce_on(Publication& pub, unsigned producer, std::uint64_t count) {
  Yield wait;
  for (std::uint64_t n = 0; n < count; ++n) {
    Claim c;
    PublishStatus s;
    while ((s = pub.try_claim({.type = EventType::trading_signal, .source = "x", .data_size = kDataSize,
                               .metadata_size = 2},
                              c)) == PublishStatus::back_pressured) {
      wait.idle(pub.ring());
    }
    ASSERT_EQ(s, PublishStatus::ok);
    wait.reset();
    write_data(c.data(), producer, n);
    std::memcpy(c.metadata(), "{}", 2);
    c.commit();
  }
}

// Per-producer order only: events of different publications (and of the
// bus's ring) have no order between them, and their sequences belong to
// different rings.
struct SourceObserver {
  std::vector<std::uint64_t> next;
  std::uint64_t received = 0;
  std::uint64_t errors = 0;
  explicit SourceObserver(unsigned producers) : next(producers, 0) {}
  void operator()(const EventView& v, bool) {
    unsigned p;
    std::uint64_t n;
    read_data(v.data(), p, n);
    if (p >= next.size() || n != next[p]) ++errors;
    if (p < next.size()) next[p] = n + 1;
    ++received;
  }
};

// Three threads publish through publications made while the subscribers
// already poll (so each lane is attached under their feet), a fourth
// through the bus's shared ring: every subscriber gets every event once,
// each publisher's in order.
TEST(BusConcurrency, PublicationsAndTheSharedRingReachEverySubscriberEachInOrder) {
  constexpr unsigned kLanes = 3;
  const std::uint64_t per_producer = scaled(600'000);
  Bus bus({.ring = {.capacity = 1 << 18, .max_event_size = 1024}, .publication_capacity = 1 << 18});
  std::vector<SourceObserver> observers(2, SourceObserver(kLanes + 1));
  std::vector<SubscriberThread> threads;
  for (auto& o : observers) {
    threads.push_back(SubscriberThread::start<Yield>(bus.subscribe(), [&o](const EventView& v, bool e) { o(v, e); }));
  }
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kLanes; ++p) {
    producers.emplace_back([&, p] {
      Publication pub = bus.publication();
      produce_on(pub, p, per_producer);
    });
  }
  producers.emplace_back([&] { produce(bus, kLanes, per_producer, EventType::trading_signal); });
  for (auto& t : producers) t.join();
  bus.close();
  for (auto& t : threads) t.join();
  for (const SourceObserver& o : observers) {
    EXPECT_EQ(o.errors, 0u) << "a loss, duplicate or reordering within one publisher";
    EXPECT_EQ(o.received, (kLanes + 1) * per_producer);
  }
  EXPECT_EQ(bus.published_total(), (kLanes + 1) * per_producer);
  EXPECT_EQ(bus.publication_rings(), kLanes);
}

// Publications taken and given back in a loop, while subscriptions come
// and go: the lanes are reused (never more than max_publications), and the
// steady subscriber gets every event exactly once.
TEST(BusConcurrency, PublicationsAndSubscriptionsComeAndGo) {
  constexpr unsigned kPublishers = 2;
  const std::uint64_t rounds = std::max<std::uint64_t>(scaled(20'000) / 100, 10);
  constexpr std::uint64_t kPerRound = 100;
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 512},
           .max_publications = 3,
           .publication_capacity = 1 << 16});
  std::vector<std::vector<std::uint8_t>> seen(kPublishers, std::vector<std::uint8_t>(rounds * kPerRound, 0));
  std::uint64_t received = 0;
  std::uint64_t errors = 0;
  auto steady = SubscriberThread::start<Yield>(bus.subscribe(), [&](const EventView& v, bool) {
    unsigned p;
    std::uint64_t n;
    read_data(v.data(), p, n);
    if (p >= kPublishers || n >= rounds * kPerRound || seen[p][n]++ != 0) ++errors;
    ++received;
  });
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> transient_polls{0};
  std::thread churn([&] {
    while (!done.load(std::memory_order_acquire)) {
      Subscription s = bus.subscribe({.mode = BackPressure::lossy});
      transient_polls.fetch_add(s.poll([](const EventView&, bool) {}, 64) + 1, std::memory_order_relaxed);
    }
  });
  std::vector<std::thread> publishers;
  for (unsigned p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      Yield wait;
      for (std::uint64_t r = 0; r < rounds; ++r) {
        Publication pub = bus.publication();
        for (std::uint64_t k = 0; k < kPerRound; ++k) {
          Claim c;
          const std::uint64_t n = r * kPerRound + k;
          while (pub.try_claim({.type = EventType::order_executed, .source = "x", .data_size = kDataSize,
                                .metadata_size = 2},
                               c) != PublishStatus::ok) {
            wait.idle(pub.ring());
          }
          wait.reset();
          write_data(c.data(), p, n);
          std::memcpy(c.metadata(), "{}", 2);
          c.commit();
        }
      }
    });
  }
  for (auto& t : publishers) t.join();
  done.store(true, std::memory_order_release);
  churn.join();
  bus.close();
  steady.join();
  EXPECT_EQ(errors, 0u) << "an event delivered twice or with a bad counter";
  EXPECT_EQ(received, kPublishers * rounds * kPerRound);
  EXPECT_LE(bus.publication_rings(), 3u);
  EXPECT_GT(transient_polls.load(), 0u);
}

// An event loop woken only by its doorbell (as the persister's): it drains,
// arms, looks once more, and sleeps until rung. Three publishers, two of
// them through publications. If a commit could slip between the loop's last
// look and its arming, the loop would sleep with events waiting: the wait
// has a deadline so that shows as a failure, not a hang.
TEST(DoorbellConcurrency, ALoopWokenOnlyByItsDoorbellMissesNothing) {
  constexpr unsigned kProducers = 3;
  const std::uint64_t per_producer = scaled(300'000);
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 512}, .publication_capacity = 1 << 16});
  Subscription sub = bus.subscribe();
  std::atomic<bool> rung{false};
  Doorbell bell(
      [](void* flag) noexcept {
        static_cast<std::atomic<bool>*>(flag)->store(true, std::memory_order_release);
      },
      &rung);
  ASSERT_TRUE(bus.ring().add_doorbell(bell));
  SourceObserver observer(kProducers);
  std::uint64_t sleeps = 0;
  bool missed_wake_up = false;
  std::thread loop([&] {
    const std::uint64_t total = kProducers * per_producer;
    while (observer.received < total) {
      if (sub.poll([&](const EventView& v, bool e) { observer(v, e); }, 256) != 0) continue;
      bus.ring().arm_doorbell(bell);
      if (sub.available() && bus.ring().disarm_doorbell(bell)) continue;
      ++sleeps;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!rung.exchange(false, std::memory_order_acq_rel)) {
        if (std::chrono::steady_clock::now() > deadline) {
          missed_wake_up = true;
          return;
        }
        std::this_thread::yield();
      }
    }
  });
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      if (p == 0) {
        produce(bus, p, per_producer, EventType::trading_signal);
      } else {
        Publication pub = bus.publication();
        produce_on(pub, p, per_producer);
      }
    });
  }
  for (auto& t : producers) t.join();
  loop.join();
  bus.ring().remove_doorbell(bell);
  EXPECT_FALSE(missed_wake_up) << "the loop slept with events waiting";
  EXPECT_EQ(observer.errors, 0u);
  EXPECT_EQ(observer.received, kProducers * per_producer);
  EXPECT_GT(sleeps, 0u);
}

// remove_doorbell() while publishers ring it: once it returns nobody
// touches the doorbell, so its owner frees it (ASan and TSan check).
TEST(DoorbellConcurrency, RemovingWhilePublishersRingIsSafe) {
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 512}});
  Subscription sub = bus.subscribe({.mode = BackPressure::lossy});
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    while (!done.load(std::memory_order_acquire)) {
      (void)bus.try_publish({.type = EventType::system_health, .source = "t"});
    }
  });
  while (bus.published_total() < 1000) std::this_thread::yield();
  std::atomic<int> total_rings{0};
  for (int round = 0; round < static_cast<int>(scaled(20'000) / 100); ++round) {
    auto count = std::make_unique<std::atomic<int>>(0);
    auto bell = std::make_unique<Doorbell>(
        [](void* c) noexcept { static_cast<std::atomic<int>*>(c)->fetch_add(1, std::memory_order_relaxed); },
        count.get());
    ASSERT_TRUE(bus.ring().add_doorbell(*bell));
    for (int k = 0; k < 20; ++k) {
      const int before = count->load(std::memory_order_relaxed);
      bus.ring().arm_doorbell(*bell);
      for (int spin = 0; spin < 2000 && count->load(std::memory_order_relaxed) == before; ++spin) {
        detail::cpu_relax();
      }
      sub.poll([](const EventView&, bool) {}, 64);
    }
    bus.ring().remove_doorbell(*bell);
    total_rings.fetch_add(count->load(), std::memory_order_relaxed);
    bell.reset();  // freed while the publisher keeps committing
    count.reset();
  }
  done.store(true, std::memory_order_release);
  publisher.join();
  EXPECT_GT(total_rings.load(), 0);
}

// Several threads read the clock while one of them re-anchors it (about
// every second): every read lies within the bounds of clock_gettime calls
// around it. Under ThreadSanitizer this proves the seqlock race-free.
TEST(ClockConcurrency, ReadersAgreeWithTheSystemClockWhileOneReanchors) {
  std::atomic<int> bad{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      const TimestampNs start = detail::realtime_ns();
      while (detail::realtime_ns() - start < 1'200'000'000) {
        const TimestampNs before = detail::realtime_ns();
        const TimestampNs now = now_ns();
        const TimestampNs after = detail::realtime_ns();
        if (now < before - 100'000 || now > after + 100'000) bad.fetch_add(1);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0) << "of " << reads.load() << " reads (" << clock_source() << ")";
  EXPECT_GT(reads.load(), 1000);
}

}  // namespace
}  // namespace tradpal
