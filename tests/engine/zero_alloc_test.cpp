// tests/engine/zero_alloc_test.cpp
//
// The bus's steady state never allocates: publishing (try_publish, claim /
// commit, the TradPal convenience publishers) and delivering (poll, a
// subscriber thread), including wrap-around with padding frames and lossy
// subscribers being evicted, and with a PublishValidator (accepting, or
// refusing with a rejection record). Every global operator new and delete is
// replaced by a counting version (tests/support/counting_allocator.h); each
// test warms up first (the thread's v4 id generator, first touches), then
// counts across many events.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/bus.h"
#include "engine/subscriber_thread.h"
#include "tests/support/counting_allocator.h"

using tradpal::testing::g_allocations;
using tradpal::testing::g_deallocations;

namespace tradpal {
namespace {

// Allocations and deallocations since construction.
class AllocationWindow {
 public:
  [[nodiscard]] std::uint64_t allocations() const noexcept {
    return g_allocations.load(std::memory_order_relaxed) - allocations_;
  }
  [[nodiscard]] std::uint64_t deallocations() const noexcept {
    return g_deallocations.load(std::memory_order_relaxed) - deallocations_;
  }

 private:
  std::uint64_t allocations_ = g_allocations.load(std::memory_order_relaxed);
  std::uint64_t deallocations_ = g_deallocations.load(std::memory_order_relaxed);
};

// A small ring, so a few thousand events wrap it many times.
constexpr RingOptions kSmallRing{.capacity = 64 * 1024, .max_event_size = 4096, .max_subscribers = 8};

// JSON objects from 16 bytes to about 2 KiB, made before any window opens:
// frames of many lengths leave padding at the end of the ring on most laps.
std::vector<std::string> make_payloads() {
  std::vector<std::string> payloads;
  for (std::size_t n = 8; n < 2048; n = n * 3 / 2 + 5) payloads.push_back("{\"p\": \"" + std::string(n, 'x') + "\"}");
  return payloads;
}

TEST(ZeroAlloc, CountingAllocatorSeesAllocations) {
  // Guards the test itself: were the replacement not linked in, every other
  // test here would pass without proving anything.
  const AllocationWindow window;
  auto* p = new std::uint64_t(7);
  delete p;
  auto* q = new (std::align_val_t{256}) std::uint64_t[4];
  ::operator delete[](q, std::align_val_t{256});
  EXPECT_EQ(window.allocations(), 2u);
  EXPECT_EQ(window.deallocations(), 2u);
}

TEST(ZeroAlloc, SteadyStatePublishAndPollDoNotAllocate) {
  const std::vector<std::string> payloads = make_payloads();
  Bus bus({.ring = kSmallRing});
  Subscription gating = bus.subscribe();
  Subscription lossy_idle = bus.subscribe({.types = {}, .mode = BackPressure::lossy, .start = std::nullopt});
  Subscription lossy_slow = bus.subscribe(
      {.types = {EventType::trading_signal}, .mode = BackPressure::lossy, .start = std::nullopt});
  std::uint64_t delivered = 0;
  std::uint64_t bytes_seen = 0;
  auto handler = [&](const EventView& e, bool) {
    ++delivered;
    bytes_seen += e.data().size() + e.source().size() + e.metadata().size();
  };
  std::uint64_t slow_seen = 0;
  auto slow_handler = [&](const EventView& e, bool) { slow_seen += e.type() == EventType::trading_signal; };

  // One round of every call, so first-use work (the thread's id generator,
  // lazily set-up state) happens before counting starts.
  auto one_round = [&](std::size_t i) {
    const std::string& data = payloads[i % payloads.size()];
    Published published;
    ASSERT_EQ(bus.try_publish({.type = EventType::order_executed, .source = "executor", .data = data}, &published),
              PublishStatus::ok);
    Claim claim;
    ASSERT_EQ(bus.try_claim({.type = EventType::risk_alert,
                             .source = "risk",
                             .data_size = data.size(),
                             .metadata_size = 2},
                            claim),
              PublishStatus::ok);
    std::memcpy(claim.data(), data.data(), data.size());
    std::memcpy(claim.metadata(), "{}", 2);
    claim.commit();
    ASSERT_EQ(bus.publish_market_data<NoWait>("BTC/USDT", data), PublishStatus::ok);
    ASSERT_EQ(bus.publish_trading_signal<NoWait>(data), PublishStatus::ok);
    ASSERT_EQ(bus.publish_portfolio_update<NoWait>(data), PublishStatus::ok);
    ASSERT_EQ(bus.publish_event<NoWait>(EventType::system_health, "monitor", data, "{\"k\": 1}"), PublishStatus::ok);
    // A claim given up without commit turns into padding.
    Claim abandoned;
    ASSERT_EQ(bus.try_claim({.type = EventType::ml_model_update, .source = "ml", .data_size = 2, .metadata_size = 2},
                            abandoned),
              PublishStatus::ok);
    abandoned.abort();
    while (gating.poll(handler, 4) != 0) {
    }
    if (i % 97 == 0) lossy_slow.poll(slow_handler, 3);
  };
  // Every payload size once: the JSON check's per-thread buffer and parser
  // grow to the largest text a thread has checked, then never again.
  for (std::size_t i = 0; i < payloads.size(); ++i) one_round(i);

  constexpr std::size_t kRounds = 20'000;
  const Sequence tail_before = bus.ring().tail();
  const AllocationWindow window;
  for (std::size_t i = 1; i <= kRounds; ++i) {
    one_round(i);
    if (HasFatalFailure()) return;
  }
  const std::uint64_t allocations = window.allocations();
  const std::uint64_t deallocations = window.deallocations();

  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(deallocations, 0u);
  // The window did what it claims: many laps, everything delivered to the
  // gating subscriber, and the lossy ones evicted and counting their losses.
  EXPECT_GT(bus.ring().tail() - tail_before, 50 * kSmallRing.capacity);
  EXPECT_EQ(delivered, 6 * (kRounds + payloads.size()));
  EXPECT_GT(bytes_seen, 0u);
  EXPECT_GT(lossy_idle.lost_total(), 0u);
  EXPECT_GT(lossy_slow.lost_total(), 0u);
  EXPECT_GT(slow_seen, 0u);
  EXPECT_GT(bus.dropped_total(), 0u);
}

TEST(ZeroAlloc, SubscriberThreadDeliversWithoutAllocating) {
  const std::vector<std::string> payloads = make_payloads();
  Bus bus({.ring = kSmallRing});
  std::atomic<std::uint64_t> delivered{0};
  // Starting the thread allocates; delivering on it must not.
  SubscriberThread thread = SubscriberThread::start<Yield>(
      bus.subscribe({.types = {EventType::market_data_update}, .mode = BackPressure::block, .start = std::nullopt}),
      [&delivered](const EventView&, bool) { delivered.fetch_add(1, std::memory_order_relaxed); }, 64);
  ASSERT_EQ(bus.publish_market_data("ETH/USDT", payloads[0]), PublishStatus::ok);
  while (delivered.load(std::memory_order_relaxed) != 1) std::this_thread::yield();

  constexpr std::uint64_t kEvents = 50'000;
  const AllocationWindow window;
  for (std::uint64_t i = 0; i < kEvents; ++i) {
    // The default publish waits (Backoff) while the subscriber thread holds
    // the ring full; the other types are skipped by its filter.
    ASSERT_EQ(bus.publish_market_data("ETH/USDT", payloads[i % payloads.size()]), PublishStatus::ok);
    ASSERT_EQ(bus.publish_event(EventType::sentiment_data_update, "news"), PublishStatus::ok);
  }
  while (delivered.load(std::memory_order_relaxed) != kEvents + 1) std::this_thread::yield();
  const std::uint64_t allocations = window.allocations();
  const std::uint64_t deallocations = window.deallocations();

  thread.stop();
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(deallocations, 0u);
}

TEST(ZeroAlloc, BatchPublishAllocatesNothing) {
  const std::vector<std::string> payloads = make_payloads();
  Bus bus({.ring = kSmallRing});
  SubscriberThread thread = SubscriberThread::start<Yield>(bus.subscribe(), [](const EventView&, bool) {}, 256);
  std::vector<EventSpec> specs;
  for (std::size_t i = 0; i < 100; ++i) {
    specs.push_back({.type = EventType::trading_signal, .source = "b", .data = payloads[i % 6]});
  }
  std::vector<Published> out(specs.size());
  ASSERT_EQ(bus.publish_batch(specs, out.data()).status, PublishStatus::ok);  // first use outside the window
  const AllocationWindow window;
  for (int round = 0; round < 2000; ++round) {
    const auto r = bus.publish_batch(specs, out.data());
    ASSERT_EQ(r.status, PublishStatus::ok);
    ASSERT_EQ(r.published, specs.size());
  }
  const std::uint64_t allocations = window.allocations();
  thread.stop();
  EXPECT_EQ(allocations, 0u);
}

// A publication (its own ring, polled beside the bus's) publishes and
// delivers without allocating once taken; taking it may allocate its ring.
TEST(ZeroAlloc, PublicationPublishAndPollDoNotAllocate) {
  const std::vector<std::string> payloads = make_payloads();
  Bus bus({.ring = kSmallRing, .publication_capacity = kSmallRing.capacity});
  Subscription sub = bus.subscribe();
  Publication pub = bus.publication();
  std::size_t seen = 0;
  auto handler = [&seen](const EventView& e, bool) noexcept { seen += e.data().size() != 0 ? 1 : 0; };
  for (const std::string& p : payloads) {  // warm up: the thread's JSON check buffer at every size
    ASSERT_EQ(pub.try_publish({.type = EventType::trading_signal, .source = "lane", .data = p}), PublishStatus::ok);
    sub.poll(handler);
  }
  const AllocationWindow window;
  for (int i = 0; i < 20000; ++i) {
    const std::string& p = payloads[static_cast<std::size_t>(i) % payloads.size()];
    ASSERT_EQ(pub.try_publish({.type = EventType::trading_signal, .source = "lane", .data = p}), PublishStatus::ok);
    if (i % 3 == 0) {
      ASSERT_EQ(bus.try_publish({.type = EventType::risk_alert, .data = p}), PublishStatus::ok);
    }
    sub.poll(handler);
  }
  EXPECT_EQ(window.allocations(), 0u);
  EXPECT_EQ(window.deallocations(), 0u);
  EXPECT_EQ(seen, payloads.size() + 20000 + 6667);
}

// Refuses data holding "bad", describing it in the caller's record: the
// record is fixed-size, so a refusal allocates nothing either.
class RefuseBad final : public PublishValidator {
 public:
  bool validate(const Event& event, PublishRejection* rejection) const noexcept override {
    if (event.data.find("\"bad\"") == std::string_view::npos) return true;
    if (rejection != nullptr) rejection->reject(PublishRejection::Part::data, "/bad", "is not allowed");
    return false;
  }
};

// With a validator: every publishing path asks it (market data builds its
// object in the thread's buffer first), accepted or refused, with no
// allocation once the thread's buffers have grown to the largest event.
TEST(ZeroAlloc, ValidatedPublishesDoNotAllocate) {
  const std::vector<std::string> payloads = make_payloads();
  const RefuseBad validator;
  Bus bus({.ring = kSmallRing, .publication_capacity = kSmallRing.capacity, .validator = &validator});
  Subscription sub = bus.subscribe();
  Publication pub = bus.publication();
  std::uint64_t seen = 0;
  auto handler = [&seen](const EventView&, bool) noexcept { ++seen; };
  std::vector<EventSpec> batch;
  for (std::size_t i = 0; i < 20; ++i) batch.push_back({.type = EventType::risk_alert, .data = payloads[i % 6]});
  batch[15].data = R"({"bad": 1})";
  bool as_expected = true;
  auto one_round = [&](std::size_t i) {
    const std::string& p = payloads[i % payloads.size()];
    PublishRejection why;
    as_expected &= bus.try_publish({.type = EventType::trading_signal, .data = p}, nullptr, &why) == PublishStatus::ok;
    as_expected &= bus.publish_market_data<NoWait>("BTC/USDT", p, "feed", nullptr, 0, &why) == PublishStatus::ok;
    as_expected &= pub.try_publish({.type = EventType::order_executed, .data = p}, nullptr, &why) == PublishStatus::ok;
    as_expected &= bus.try_publish_batch(batch, nullptr, &why).published == 15;
    as_expected &= bus.try_publish({.data = R"({"bad": 2})"}, nullptr, &why) == PublishStatus::invalid;
    as_expected &= bus.publish_market_data<NoWait>("BTC", R"({"bad": 3})", "feed", nullptr, 0, &why) ==
                   PublishStatus::invalid;
    as_expected &= why.path() == "/bad";
    while (sub.poll(handler) != 0) {
    }
  };
  for (std::size_t i = 0; i < payloads.size(); ++i) one_round(i);  // the buffers at every size
  ASSERT_TRUE(as_expected);
  const AllocationWindow window;
  constexpr std::size_t kRounds = 5'000;
  for (std::size_t i = 0; i < kRounds; ++i) one_round(i);
  EXPECT_EQ(window.allocations(), 0u);
  EXPECT_EQ(window.deallocations(), 0u);
  EXPECT_TRUE(as_expected);
  EXPECT_EQ(seen, (3 + 15) * (kRounds + payloads.size()));
}

}  // namespace
}  // namespace tradpal
