// tests/engine/publish_validator_test.cpp
//
// BusOptions::validator: a refused event answers `invalid`, reaches no
// subscriber and takes no ring space, and the PublishRejection names where
// and why; every publishing path (single, waiting, convenience, batch,
// exclusive publications) asks it, claims do not; threads publish through
// one validator at once; a bus without one behaves as before.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/bus.h"
#include "engine/publication.h"
#include "engine/publish_validator.h"
#include "small_ring.h"

namespace tradpal {
namespace {

// Refuses data that holds a "bad" member, naming it /bad, with the data
// itself as the message (so a test can tell which event was described).
// Only atomics inside: any number of threads may call it.
class RefuseBad final : public PublishValidator {
 public:
  bool validate(const Event& event, PublishRejection* rejection) const noexcept override {
    calls.fetch_add(1, std::memory_order_relaxed);
    if (event.data.find("\"bad\"") == std::string_view::npos) return true;
    if (rejection != nullptr) {
      described.fetch_add(1, std::memory_order_relaxed);
      rejection->reject(PublishRejection::Part::data, "/bad", event.data);
    }
    return false;
  }
  mutable std::atomic<std::uint64_t> calls{0};
  mutable std::atomic<std::uint64_t> described{0};
};

// Remembers the last event it was shown; single-threaded tests only.
class Recorder final : public PublishValidator {
 public:
  bool validate(const Event& event, PublishRejection*) const noexcept override {
    type = event.type;
    source = std::string(event.source);
    data = std::string(event.data);
    metadata = std::string(event.metadata);
    return true;
  }
  mutable EventType type = EventType::system_health;
  mutable std::string source, data, metadata;
};

std::size_t drain(Subscription& sub, std::vector<std::string>* seen = nullptr) {
  return sub.poll([&](const EventView& e, bool) {
    if (seen != nullptr) seen->emplace_back(e.data());
  });
}

TEST(PublishValidator, RefusedEventIsNotPublishedAndTheRejectionSaysWhere) {
  RefuseBad validator;
  Bus bus({.validator = &validator});
  auto sub = bus.subscribe();
  const Sequence tail = bus.ring().tail();
  PublishRejection why;
  Published out{.sequence = 12345};
  const EventSpec bad{.type = EventType::trading_signal, .source = "bot", .data = R"({"bad": 1})"};
  EXPECT_EQ(bus.try_publish(bad, &out, &why), PublishStatus::invalid);
  EXPECT_EQ(why.part(), PublishRejection::Part::data);
  EXPECT_EQ(why.path(), "/bad");
  EXPECT_EQ(why.message(), R"({"bad": 1})");
  EXPECT_STREQ(why.path_c_str(), "/bad");
  EXPECT_FALSE(why.truncated());
  // Nothing claimed, counted or delivered; `out` untouched.
  EXPECT_EQ(bus.ring().tail(), tail);
  EXPECT_EQ(bus.published_total(), 0u);
  EXPECT_EQ(out.sequence, 12345u);
  EXPECT_EQ(drain(sub), 0u);
  // Without a record the validator is not asked to describe the refusal.
  const std::uint64_t described = validator.described.load();
  EXPECT_EQ(bus.try_publish(bad), PublishStatus::invalid);
  EXPECT_EQ(validator.described.load(), described);
  EXPECT_EQ(bus.ring().tail(), tail);
}

TEST(PublishValidator, AcceptedEventPassesWithWhatItWasShown) {
  Recorder recorder;
  Bus bus({.validator = &recorder});
  auto sub = bus.subscribe();
  PublishRejection why;
  Published out;
  ASSERT_EQ(bus.try_publish({.type = EventType::risk_alert,
                             .source = "risk",
                             .data = R"({"level": "high"})",
                             .metadata = R"({"k": 1})"},
                            &out, &why),
            PublishStatus::ok);
  EXPECT_EQ(recorder.type, EventType::risk_alert);
  EXPECT_EQ(recorder.source, "risk");
  EXPECT_EQ(recorder.data, R"({"level": "high"})");
  EXPECT_EQ(recorder.metadata, R"({"k": 1})");
  EXPECT_EQ(why.part(), PublishRejection::Part::none) << "left alone on success";
  std::vector<std::string> seen;
  EXPECT_EQ(drain(sub, &seen), 1u);
  EXPECT_EQ(seen.at(0), R"({"level": "high"})");
  EXPECT_EQ(bus.published(EventType::risk_alert), 1u);
}

TEST(PublishValidator, MarketDataIsShownAsSubscribersGetIt) {
  Recorder recorder;
  Bus bus({.validator = &recorder});
  auto sub = bus.subscribe();
  ASSERT_EQ(bus.publish_market_data<NoWait>("BTC/USDT", R"( {"price": 1.5} )", "feed"), PublishStatus::ok);
  std::vector<std::string> seen;
  ASSERT_EQ(drain(sub, &seen), 1u);
  EXPECT_EQ(recorder.type, EventType::market_data_update);
  EXPECT_EQ(recorder.source, "feed");
  EXPECT_EQ(recorder.data, seen[0]);
  EXPECT_EQ(seen[0], R"({"symbol": "BTC/USDT", "price": 1.5})");
  EXPECT_EQ(recorder.metadata, "{}");
  // A symbol that needs escaping and an empty object, through the buffer.
  ASSERT_EQ(bus.try_publish_market_data("a\"b", "{}"), PublishStatus::ok);
  seen.clear();
  ASSERT_EQ(drain(sub, &seen), 1u);
  EXPECT_EQ(recorder.data, seen[0]);
  EXPECT_EQ(seen[0], R"({"symbol": "a\"b"})");
}

TEST(PublishValidator, EveryPublishingPathAsksIt) {
  RefuseBad validator;
  Bus bus({.validator = &validator});
  auto sub = bus.subscribe();
  const Sequence tail = bus.ring().tail();
  constexpr std::string_view kBad = R"({"bad": true})";
  const EventSpec spec{.type = EventType::order_executed, .source = "x", .data = kBad};
  const auto refused = [&](PublishStatus s, const PublishRejection& why, std::string_view message) {
    EXPECT_EQ(s, PublishStatus::invalid);
    EXPECT_EQ(why.path(), "/bad");
    EXPECT_EQ(why.message(), message);
  };
  // The message is the data the validator was shown (see RefuseBad).
  PublishRejection why;
  refused(bus.publish(spec, nullptr, &why), why, kBad);
  why.clear();
  refused(bus.publish<NoWait>(spec, nullptr, &why), why, kBad);
  why.clear();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  refused(bus.publish_until(spec, deadline, nullptr, &why), why, kBad);
  why.clear();
  refused(bus.publish_for(spec, std::chrono::seconds(1), nullptr, &why), why, kBad);
  why.clear();
  refused(bus.publish_event(EventType::rl_action_taken, "x", kBad, "{}", nullptr, 0, &why), why, kBad);
  why.clear();
  refused(bus.publish_trading_signal(kBad, "bot", nullptr, 0, &why), why, kBad);
  why.clear();
  refused(bus.publish_portfolio_update(kBad, "risk", nullptr, 0, &why), why, kBad);
  why.clear();
  refused(bus.publish_order_executed(kBad, "exec", nullptr, 0, &why), why, kBad);
  why.clear();
  refused(bus.publish_risk_alert(kBad, "risk", nullptr, 0, &why), why, kBad);
  why.clear();
  refused(bus.publish_system_health(kBad, "mon", nullptr, 0, &why), why, kBad);
  why.clear();
  refused(bus.publish_ml_model_update(kBad, "ml", nullptr, 0, &why), why, kBad);
  why.clear();
  refused(bus.publish_backtest_complete(kBad, "bt", nullptr, 0, &why), why, kBad);
  why.clear();
  // The market data publisher shows the built object.
  constexpr std::string_view kBuilt = R"({"symbol": "BTC", "bad": true})";
  refused(bus.publish_market_data("BTC", kBad, "feed", nullptr, 0, &why), why, kBuilt);
  why.clear();
  refused(bus.try_publish_market_data("BTC", kBad, "feed", nullptr, 0, &why), why, kBuilt);
  why.clear();
  const Bus::BatchResult batch = bus.publish_batch(std::span(&spec, 1), nullptr, &why);
  EXPECT_EQ(batch.published, 0u);
  refused(batch.status, why, kBad);
  // An exclusive publication publishes through the same checks.
  Publication pub = bus.publication();
  why.clear();
  refused(pub.try_publish(spec, nullptr, &why), why, kBad);
  why.clear();
  refused(pub.publish(spec, nullptr, &why), why, kBad);
  why.clear();
  const Bus::BatchResult pub_batch = pub.try_publish_batch(std::span(&spec, 1), nullptr, &why);
  EXPECT_EQ(pub_batch.published, 0u);
  refused(pub_batch.status, why, kBad);
  EXPECT_EQ(pub.ring().tail(), 0u) << "a fresh publication's ring, untouched";

  EXPECT_EQ(bus.published_total(), 0u);
  EXPECT_EQ(bus.ring().tail(), tail);
  EXPECT_EQ(drain(sub), 0u);
  // And all of them let a good event through.
  ASSERT_EQ(bus.publish_trading_signal(R"({"symbol": "BTC", "action": "BUY"})"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_market_data("BTC", R"({"price": 2})"), PublishStatus::ok);
  ASSERT_EQ(pub.publish({.type = EventType::order_executed, .data = R"({"id": 1})"}), PublishStatus::ok);
  EXPECT_EQ(drain(sub), 3u);
}

TEST(PublishValidator, BatchStopsAtTheRefusedSpecAfterPublishingTheOnesBefore) {
  RefuseBad validator;
  Bus bus({.validator = &validator});
  auto sub = bus.subscribe();
  // Three chunks' worth (kMaxBatch each), the refused one in the second.
  constexpr std::size_t kRefused = Bus::kMaxBatch + 6;
  std::vector<std::string> data;
  for (std::size_t i = 0; i < 2 * Bus::kMaxBatch + 10; ++i) {
    data.push_back(i == kRefused ? R"({"bad": 1})" : "{\"i\": " + std::to_string(i) + "}");
  }
  std::vector<EventSpec> specs;
  for (const std::string& d : data) specs.push_back({.type = EventType::trading_signal, .source = "b", .data = d});
  std::vector<Published> out(specs.size());
  PublishRejection why;
  const Bus::BatchResult r = bus.try_publish_batch(specs, out.data(), &why);
  EXPECT_EQ(r.status, PublishStatus::invalid);
  EXPECT_EQ(r.published, kRefused);
  EXPECT_EQ(why.path(), "/bad");
  EXPECT_EQ(why.message(), data[kRefused]);
  EXPECT_EQ(validator.described.load(), 1u) << "the refusal is described once";
  std::vector<std::string> seen;
  EXPECT_EQ(drain(sub, &seen), kRefused);
  EXPECT_EQ(seen, std::vector<std::string>(data.begin(), data.begin() + kRefused));
  EXPECT_EQ(bus.published_total(), kRefused);
  // Resuming after the refused spec publishes the rest.
  const Bus::BatchResult rest = bus.try_publish_batch(std::span(specs).subspan(kRefused + 1));
  EXPECT_EQ(rest.status, PublishStatus::ok);
  EXPECT_EQ(rest.published, specs.size() - kRefused - 1);
  // A refused first spec publishes nothing.
  const Sequence tail = bus.ring().tail();
  const Bus::BatchResult none = bus.try_publish_batch(std::span(specs).subspan(kRefused));
  EXPECT_EQ(none.status, PublishStatus::invalid);
  EXPECT_EQ(none.published, 0u);
  EXPECT_EQ(bus.ring().tail(), tail);
}

TEST(PublishValidator, EventsTheRingWouldRefuseAreNotShownToIt) {
  RefuseBad validator;
  Bus bus({.ring = testing::small_ring(4096, 256).ring, .validator = &validator});
  const std::string big = "{\"p\": \"" + std::string(300, 'x') + "\"}";
  EXPECT_EQ(bus.try_publish({.type = EventType::trading_signal, .data = big}), PublishStatus::too_large);
  EXPECT_EQ(bus.try_publish_market_data("BTC", big), PublishStatus::too_large);
  EXPECT_EQ(validator.calls.load(), 0u);
}

TEST(PublishValidator, ClaimsBypassItAndCheckLetsAClaimerAsk) {
  RefuseBad validator;
  Bus bus({.validator = &validator});
  auto sub = bus.subscribe();
  constexpr std::string_view kBad = R"({"bad": 2})";
  const ClaimRequest request{
      .type = EventType::risk_alert, .source = "c", .data_size = kBad.size(), .metadata_size = 2};
  // A claim is committed as written: the validator never sees it.
  Claim claim;
  ASSERT_EQ(bus.try_claim(request, claim), PublishStatus::ok);
  std::memcpy(claim.data(), kBad.data(), kBad.size());
  std::memcpy(claim.metadata(), "{}", 2);
  claim.commit();
  EXPECT_EQ(validator.calls.load(), 0u);
  EXPECT_EQ(drain(sub), 1u);
  // A claimer that asks check() and aborts on refusal publishes nothing.
  ASSERT_EQ(bus.try_claim(request, claim), PublishStatus::ok);
  std::memcpy(claim.data(), kBad.data(), kBad.size());
  std::memcpy(claim.metadata(), "{}", 2);
  PublishRejection why;
  const EventSpec written{.type = request.type,
                          .source = request.source,
                          .data = {claim.data(), claim.data_size()},
                          .metadata = {claim.metadata(), claim.metadata_size()}};
  EXPECT_EQ(bus.check(written, &why), PublishStatus::invalid);
  EXPECT_EQ(why.path(), "/bad");
  claim.abort();
  EXPECT_EQ(drain(sub), 0u);
  EXPECT_EQ(bus.check({.data = R"({"good": 1})"}), PublishStatus::ok);
}

// Several threads publish through one validator at once, half their events
// refused: every accepted event arrives exactly once, no refused one does,
// and each thread's own record describes its own refusal.
TEST(PublishValidator, ConcurrentPublishersShareOneValidator) {
  const char* scale = std::getenv("TRADPAL_TEST_SCALE");
  const std::uint64_t per_thread = 20'000 / (scale != nullptr ? std::max(1L, std::strtol(scale, nullptr, 10)) : 1);
  constexpr unsigned kThreads = 4;
  RefuseBad validator;
  Bus bus({.ring = testing::small_ring(64 * 1024, 1024).ring, .validator = &validator});
  auto sub = bus.subscribe();  // gating: nothing is lost, publishers wait for it
  std::atomic<unsigned> running{kThreads};
  std::atomic<std::uint64_t> wrong_rejections{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PublishRejection why;
      for (std::uint64_t n = 0; n < per_thread; ++n) {
        const std::string data = n % 2 == 0 ? "{\"t\": " + std::to_string(t) + ", \"n\": " + std::to_string(n) + "}"
                                            : "{\"t\": " + std::to_string(t) + ", \"bad\": " + std::to_string(n) + "}";
        const PublishStatus s = bus.publish({.type = EventType::trading_signal, .source = "p", .data = data},
                                            nullptr, &why);
        const bool ok = s == (n % 2 == 0 ? PublishStatus::ok : PublishStatus::invalid);
        if (!ok || (n % 2 == 1 && why.message() != data)) wrong_rejections.fetch_add(1, std::memory_order_relaxed);
      }
      running.fetch_sub(1, std::memory_order_release);
    });
  }
  std::uint64_t good = 0, bad = 0;
  const auto handler = [&](const EventView& e, bool) {
    (e.data().find("\"bad\"") == std::string_view::npos ? good : bad) += 1;
  };
  while (running.load(std::memory_order_acquire) != 0) {
    if (sub.poll(handler) == 0) std::this_thread::yield();
  }
  for (std::thread& th : threads) th.join();
  while (sub.poll(handler) != 0) {
  }
  EXPECT_EQ(wrong_rejections.load(), 0u);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(good, kThreads * (per_thread / 2));
  EXPECT_EQ(bus.published_total(), kThreads * (per_thread / 2));
  // At least once per event: a publish that finds the ring full checks
  // again when it retries.
  EXPECT_GE(validator.calls.load(), kThreads * per_thread);
}

TEST(PublishValidator, WithoutOneTheBusBehavesAsBefore) {
  Bus bus;
  auto sub = bus.subscribe();
  PublishRejection why;
  EXPECT_EQ(bus.try_publish({.data = R"({"bad": 1})"}, nullptr, &why), PublishStatus::ok);
  EXPECT_EQ(why.part(), PublishRejection::Part::none);
  EXPECT_EQ(bus.publish_market_data("BTC", R"({"bad": 1})"), PublishStatus::ok);
  EXPECT_EQ(drain(sub), 2u);
  // The JSON check's refusals fill the record as well.
  EXPECT_EQ(bus.try_publish({.data = R"({"price": })"}, nullptr, &why), PublishStatus::invalid);
  EXPECT_EQ(why.part(), PublishRejection::Part::data);
  EXPECT_EQ(why.path(), "");
  EXPECT_EQ(why.message(), "is not a JSON object");
  EXPECT_EQ(bus.try_publish({.metadata = "[]"}, nullptr, &why), PublishStatus::invalid);
  EXPECT_EQ(why.part(), PublishRejection::Part::metadata);
  EXPECT_EQ(bus.publish_market_data<NoWait>("BTC", "nope", "feed", nullptr, 0, &why), PublishStatus::invalid);
  EXPECT_EQ(why.part(), PublishRejection::Part::data);
  const std::string long_source(70'000, 's');
  EXPECT_EQ(bus.try_publish({.source = long_source}, nullptr, &why), PublishStatus::invalid);
  EXPECT_EQ(why.part(), PublishRejection::Part::source);
  // A batch stops at a spec the JSON check refuses, as it always did.
  const std::vector<EventSpec> specs = {{.data = R"({"a": 1})"}, {.data = "{"}, {.data = R"({"c": 3})"}};
  const Bus::BatchResult r = bus.try_publish_batch(specs, nullptr, &why);
  EXPECT_EQ(r.status, PublishStatus::invalid);
  EXPECT_EQ(r.published, 1u);
  EXPECT_EQ(why.part(), PublishRejection::Part::data);
  EXPECT_EQ(drain(sub), 1u);
}

TEST(PublishRejection, CutsLongTextAtACharacterBoundary) {
  PublishRejection why;
  std::string path = "/";
  while (path.size() < 2 * PublishRejection::kMaxPath) path += "\xc3\xa9";  // é, two bytes each
  const std::string message(500, 'm');
  why.reject(PublishRejection::Part::data, path, message);
  EXPECT_TRUE(why.truncated());
  EXPECT_LE(why.path().size(), PublishRejection::kMaxPath);
  EXPECT_GE(why.path().size(), PublishRejection::kMaxPath - 1);
  // The path ends after a whole é, never inside one.
  EXPECT_EQ((why.path().size() - 1) % 2, 0u);
  EXPECT_EQ(why.path(), std::string_view(path).substr(0, why.path().size()));
  EXPECT_EQ(why.message().size(), PublishRejection::kMaxMessage);
  EXPECT_EQ(why.path_c_str()[why.path().size()], '\0');
  // Nothing is appended after a cut; short pieces append whole.
  why.append_message("more");
  EXPECT_EQ(why.message().size(), PublishRejection::kMaxMessage);
  why.reject(PublishRejection::Part::metadata, "/a~1b", "is not valid JSON: ");
  why.append_message("TAPE_ERROR");
  EXPECT_FALSE(why.truncated());
  EXPECT_EQ(why.part(), PublishRejection::Part::metadata);
  EXPECT_EQ(why.path(), "/a~1b");
  EXPECT_EQ(why.message(), "is not valid JSON: TAPE_ERROR");
  EXPECT_EQ(to_string(why.part()), "metadata");
  why.clear();
  EXPECT_EQ(why.part(), PublishRejection::Part::none);
  EXPECT_EQ(why.path(), "");
  EXPECT_EQ(why.message(), "");
}

}  // namespace
}  // namespace tradpal
