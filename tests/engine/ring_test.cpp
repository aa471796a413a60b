#include "engine/ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/bus.h"
#include "tests/engine/small_ring.h"
#include "engine/event.h"
#include "engine/json.h"

namespace tradpal {
namespace {

using testing::small_ring;

std::vector<Event> drain(Subscription& sub, std::vector<bool>* ends = nullptr) {
  std::vector<Event> out;
  sub.poll([&](const EventView& v, bool end_of_batch) {
    out.push_back(to_event(v));
    if (ends != nullptr) ends->push_back(end_of_batch);
  });
  return out;
}

TEST(Ring, RejectsImpossibleOptions) {
  EXPECT_THROW(Ring({.capacity = 5000}), std::invalid_argument);
  EXPECT_THROW(Ring({.capacity = 4096, .max_event_size = 4096}), std::invalid_argument);
  EXPECT_THROW(Ring({.capacity = 4096, .max_event_size = 100, .max_subscribers = 0}), std::invalid_argument);
}

TEST(Ring, DeliversEventsInOrderAndMarksTheEndOfEachBatch) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(bus.try_publish({.type = EventType::trading_signal, .source = "bot",
                               .data = "{\"n\": " + std::to_string(i) + "}"}),
              PublishStatus::ok);
  }
  std::vector<bool> ends;
  const auto got = drain(sub, &ends);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].data, "{\"n\": " + std::to_string(i) + "}");
    EXPECT_EQ(got[i].source, "bot");
    EXPECT_EQ(got[i].metadata, "{}");
    EXPECT_EQ(got[i].type, EventType::trading_signal);
    EXPECT_EQ(got[i].event_id.version(), 4);
    if (i > 0) {
      EXPECT_GT(got[i].sequence, got[i - 1].sequence);
    }
  }
  EXPECT_EQ(ends, (std::vector<bool>{false, false, false, false, true}));
  EXPECT_TRUE(drain(sub).empty());
  EXPECT_EQ(sub.consumed(EventType::trading_signal), 5u);
  EXPECT_EQ(bus.published(EventType::trading_signal), 5u);
}

TEST(Ring, PollHonoursItsLimit) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(bus.try_publish({.type = EventType::risk_alert}), PublishStatus::ok);
  std::vector<bool> ends;
  std::size_t n = sub.poll([&](const EventView&, bool end) { ends.push_back(end); }, 4);
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(ends, (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(sub.poll([](const EventView&, bool) {}), 6u);
}

TEST(Ring, TypeFilterDeliversOnlySubscribedTypes) {
  Bus bus(small_ring(1 << 16, 1024));
  auto signals = bus.subscribe({.types = {EventType::trading_signal, EventType::risk_alert}});
  auto everything = bus.subscribe();
  ASSERT_EQ(bus.publish_market_data("BTC/USDT", R"({"price": 1})"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_trading_signal(R"({"action": "BUY"})"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_portfolio_update(R"({"pnl": 1})"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_event(EventType::risk_alert, "risk"), PublishStatus::ok);
  const auto got = drain(signals);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, EventType::trading_signal);
  EXPECT_EQ(got[1].type, EventType::risk_alert);
  EXPECT_EQ(drain(everything).size(), 4u);
}

TEST(Ring, ConveniencePublishersUseTheContractDefaults) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  ASSERT_EQ(bus.publish_market_data("BTC/USDT", R"( {"price": 45000.0, "volume": 1.5} )"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_market_data("ETH \"x\"", "{}"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_trading_signal(R"({"action": "SELL"})"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_portfolio_update(R"({"cash": null})"), PublishStatus::ok);
  const auto got = drain(sub);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].data, R"({"symbol": "BTC/USDT", "price": 45000.0, "volume": 1.5})");
  EXPECT_EQ(got[0].source, "data_service");
  EXPECT_TRUE(is_json_object(got[0].data));
  EXPECT_EQ(got[1].data, R"({"symbol": "ETH \"x\""})");
  EXPECT_EQ(got[2].source, "trading_bot");
  EXPECT_EQ(got[3].source, "risk_service");
  EXPECT_EQ(got[3].type, EventType::portfolio_update);
}

TEST(Ring, MarketDataMergeIsValidJsonWhateverTheWhiteSpace) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  // The shapes a client's JSON may have around the object and inside it.
  const std::vector<std::string> inputs = {"{}", " {} ", "{ }", "{\r\n}", "\t{\"a\": 1}\n",
                                           "{\"a\": 1 }  ", "{\n  \"a\": [1, 2],\n  \"b\": {}\n}\r\n"};
  for (const auto& in : inputs) ASSERT_EQ(bus.publish_market_data("S", in), PublishStatus::ok) << in;
  const auto got = drain(sub);
  ASSERT_EQ(got.size(), inputs.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(is_json_object(got[i].data)) << got[i].data;
}

TEST(Ring, EventsFromTheStreamCarryTheirStreamIdInTheFrame) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  const StreamId id{1795969636847, 18446744073709551615ull};
  ASSERT_EQ(bus.try_publish({.data = R"({"a": 1})", .origin = EventOrigin::remote, .stream_id = id}),
            PublishStatus::ok);
  ASSERT_EQ(bus.try_publish({.data = R"({"b": 2})"}), PublishStatus::ok);
  std::vector<std::optional<StreamId>> ids;
  std::vector<std::string> data, metadata;
  sub.poll([&](const EventView& v, bool) {
    ids.push_back(v.stream_id());
    data.emplace_back(v.data());
    metadata.emplace_back(v.metadata());
  });
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], id);
  EXPECT_EQ(ids[0]->to_string(), "1795969636847-18446744073709551615");
  EXPECT_FALSE(ids[1].has_value());
  EXPECT_EQ(data[0], R"({"a": 1})");
  EXPECT_EQ(metadata[0], "{}");
  // The 16 bytes count toward the event's size limit.
  // Source "api" (3) + data + metadata "{}" (2) is exactly the 1024 limit.
  const std::string exact = "{\"x\": \"" + std::string(1024 - 3 - 2 - 9, 'x') + "\"}";
  ASSERT_EQ(3 + exact.size() + 2, 1024u);
  EXPECT_EQ(bus.try_publish({.data = exact}), PublishStatus::ok);
  EXPECT_EQ(bus.try_publish({.data = exact, .origin = EventOrigin::remote, .stream_id = id}), PublishStatus::too_large);
}

TEST(StreamIdText, ParsesAndFormatsEveryForm) {
  EXPECT_EQ(StreamId::parse("1-2"), (StreamId{1, 2}));
  EXPECT_EQ(StreamId::parse("7"), (StreamId{7, 0}));
  EXPECT_FALSE(StreamId::parse("").has_value());
  EXPECT_FALSE(StreamId::parse("1-").has_value());
  EXPECT_FALSE(StreamId::parse("-1").has_value());
  EXPECT_FALSE(StreamId::parse("1-2-3").has_value());
  EXPECT_FALSE(StreamId::parse("18446744073709551616-0").has_value());
  const StreamId max{UINT64_MAX, UINT64_MAX};
  EXPECT_EQ(max.to_string(), "18446744073709551615-18446744073709551615");
  EXPECT_EQ(max.to_string().size(), StreamId::kMaxText);
  EXPECT_EQ(StreamId::parse(max.to_string()), max);
  EXPECT_LT((StreamId{1, 9}), (StreamId{2, 0}));
}

TEST(Ring, RejectsOversizedAndMalformedEventsWithoutWritingAnything) {
  Bus bus(small_ring());
  auto sub = bus.subscribe();
  const std::string big = "{\"x\": \"" + std::string(300, 'a') + "\"}";
  EXPECT_EQ(bus.try_publish({.data = big}), PublishStatus::too_large);
  EXPECT_EQ(bus.try_publish({.data = "[1, 2]"}), PublishStatus::invalid);
  EXPECT_EQ(bus.try_publish({.metadata = "null"}), PublishStatus::invalid);
  EXPECT_EQ(bus.publish_market_data("X", "nope"), PublishStatus::invalid);
  EXPECT_TRUE(drain(sub).empty());
  EXPECT_EQ(bus.published_total(), 0u);
}

TEST(Ring, ClosedBusRejectsPublishersAndSubscribersDrain) {
  Bus bus(small_ring());
  auto sub = bus.subscribe();
  ASSERT_EQ(bus.try_publish({}), PublishStatus::ok);
  bus.close();
  EXPECT_EQ(bus.try_publish({}), PublishStatus::closed);
  EXPECT_FALSE(sub.drained());
  EXPECT_EQ(drain(sub).size(), 1u);
  EXPECT_TRUE(sub.drained());
}

TEST(Ring, GatingSubscriberBackPressuresAndLosesNothing) {
  Bus bus(small_ring());
  auto sub = bus.subscribe();  // block mode by default
  int published = 0;
  while (bus.try_publish({.data = "{\"n\": " + std::to_string(published) + "}"}) == PublishStatus::ok) {
    ++published;
    ASSERT_LT(published, 1000) << "a 4 KiB ring cannot hold this many events";
  }
  EXPECT_GT(published, 10);
  EXPECT_GT(bus.ring().fill_bytes(), 4096u * 3 / 4);
  EXPECT_EQ(bus.try_publish({}), PublishStatus::back_pressured);
  int next = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& e : drain(sub)) EXPECT_EQ(e.data, "{\"n\": " + std::to_string(next++) + "}");
    while (bus.try_publish({.data = "{\"n\": " + std::to_string(published) + "}"}) == PublishStatus::ok) ++published;
  }
  for (const auto& e : drain(sub)) EXPECT_EQ(e.data, "{\"n\": " + std::to_string(next++) + "}");
  EXPECT_EQ(next, published);
}

TEST(Ring, WrapsAroundWithVariableSizes) {
  Bus bus(small_ring(8192, 1000));
  auto sub = bus.subscribe();
  std::size_t next = 0;
  for (std::size_t i = 0; i < 2000; ++i) {
    const std::string data = "{\"pad\": \"" + std::string(i * 37 % 900, 'x') + "\", \"i\": " + std::to_string(i) + "}";
    while (bus.try_publish({.type = EventType::order_executed, .data = data}) == PublishStatus::back_pressured) {
      for (const auto& e : drain(sub)) {
        EXPECT_EQ(e.data, "{\"pad\": \"" + std::string(next * 37 % 900, 'x') + "\", \"i\": " + std::to_string(next) + "}");
        ++next;
      }
    }
  }
  for (const auto& e : drain(sub)) {
    EXPECT_EQ(e.data, "{\"pad\": \"" + std::string(next * 37 % 900, 'x') + "\", \"i\": " + std::to_string(next) + "}");
    ++next;
  }
  EXPECT_EQ(next, 2000u);
  EXPECT_GT(bus.ring().tail(), 10 * 8192u);
}

TEST(Ring, LossySubscriberCountsWhatItMissed) {
  Bus bus(small_ring());
  auto lossy = bus.subscribe({.mode = BackPressure::lossy});
  constexpr int kEvents = 300;  // several laps of a 4 KiB ring
  for (int i = 0; i < kEvents; ++i) {
    const EventType t = i % 2 ? EventType::risk_alert : EventType::order_executed;
    ASSERT_EQ(bus.try_publish({.type = t, .data = "{\"n\": " + std::to_string(i) + "}"}), PublishStatus::ok);
  }
  const auto got = drain(lossy);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.size() + lossy.lost_total(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(lossy.lost(EventType::risk_alert) + lossy.lost(EventType::order_executed), lossy.lost_total());
  // It resumed at the oldest event still in the ring and saw the rest in order.
  const int first = kEvents - static_cast<int>(got.size());
  for (std::size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].data, "{\"n\": " + std::to_string(first + k) + "}");
  EXPECT_EQ(bus.dropped_total(), lossy.lost_total());
  lossy.close();
  EXPECT_EQ(bus.dropped_total(), static_cast<std::uint64_t>(kEvents) - got.size());
}

TEST(Ring, LossySubscriberInsideItsHandlerPinsWhatItReads) {
  Bus bus(small_ring());
  auto lossy = bus.subscribe({.mode = BackPressure::lossy});
  ASSERT_EQ(bus.try_publish({.data = R"({"first": true})"}), PublishStatus::ok);
  int pressured = 0;
  lossy.poll([&](const EventView& v, bool) {
    const std::string before(v.data());
    // Publishing a lap while we read: the frame we hold must not be
    // overwritten, so publishers are back-pressured instead.
    for (int i = 0; i < 200; ++i) {
      if (bus.try_publish({.data = R"({"other": 1})"}) == PublishStatus::back_pressured) ++pressured;
    }
    EXPECT_EQ(std::string(v.data()), before);
  });
  EXPECT_GT(pressured, 0);
  EXPECT_TRUE(lossy.poll([](const EventView&, bool) {}) > 0);
}

TEST(Ring, AbortedClaimBecomesPaddingThatNobodySees) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  {
    Claim c;
    ASSERT_EQ(bus.try_claim({.type = EventType::order_executed, .source = "x", .data_size = 2, .metadata_size = 2}, c),
              PublishStatus::ok);
    // Destroyed without commit.
  }
  Claim c;
  ASSERT_EQ(bus.try_claim({.type = EventType::order_executed, .source = "exec", .data_size = 8, .metadata_size = 2}, c),
            PublishStatus::ok);
  std::memcpy(c.data(), R"({"q": 1})", 8);
  std::memcpy(c.metadata(), "{}", 2);
  const Uuid id = c.event_id();
  c.commit();
  const auto got = drain(sub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, R"({"q": 1})");
  EXPECT_EQ(got[0].source, "exec");
  EXPECT_EQ(got[0].event_id, id);
}

TEST(Ring, SubscriberStartsAtTheNextEventOrAtAGivenSequence) {
  Bus bus(small_ring(1 << 16, 1024));
  Published first, second;
  ASSERT_EQ(bus.try_publish({.data = R"({"n": 1})"}, &first), PublishStatus::ok);
  ASSERT_EQ(bus.try_publish({.data = R"({"n": 2})"}, &second), PublishStatus::ok);
  auto late = bus.subscribe();
  auto from_first = bus.subscribe({.start = first.sequence});
  auto from_second = bus.subscribe({.mode = BackPressure::lossy, .start = second.sequence});
  ASSERT_EQ(bus.try_publish({.data = R"({"n": 3})"}), PublishStatus::ok);
  EXPECT_EQ(drain(late).size(), 1u);
  const auto all = drain(from_first);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].event_id, first.event_id);
  EXPECT_EQ(all[0].sequence, first.sequence);
  EXPECT_EQ(drain(from_second).size(), 2u);
}

TEST(Ring, RefusesAStartThatIsNotInTheRing) {
  Bus bus(small_ring());
  Published old;
  ASSERT_EQ(bus.try_publish({}, &old), PublishStatus::ok);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(bus.try_publish({}), PublishStatus::ok);  // no gating subscriber
  EXPECT_THROW(bus.subscribe({.start = old.sequence}), std::runtime_error);
  EXPECT_THROW(bus.subscribe({.start = bus.ring().tail() + 64}), std::runtime_error);
  EXPECT_THROW(bus.subscribe({.start = bus.ring().tail() - 3}), std::runtime_error);
  EXPECT_EQ(bus.ring().active_subscribers(), 0u);
}

TEST(Ring, ClosingASubscriberReleasesItsBackPressure) {
  Bus bus(small_ring());
  auto sub = bus.subscribe();
  while (bus.try_publish({}) == PublishStatus::ok) {
  }
  EXPECT_EQ(bus.try_publish({}), PublishStatus::back_pressured);
  sub.close();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(bus.try_publish({}), PublishStatus::ok);
}

TEST(Ring, SlotsRunOutWithAClearError) {
  Bus bus(small_ring());
  std::vector<Subscription> subs;
  for (int i = 0; i < 8; ++i) subs.push_back(bus.subscribe());
  EXPECT_THROW(bus.subscribe(), std::runtime_error);
  subs.pop_back();
  EXPECT_NO_THROW(bus.subscribe());
}

TEST(Ring, DataCanBeParsedInPlaceWithSimdjson) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  ASSERT_EQ(bus.publish_market_data("BTC/USDT", R"({"price": 45000.5, "book": {"bid": 1, "ask": 2}})"),
            PublishStatus::ok);
  simdjson::ondemand::parser parser;
  double price = 0;
  std::string symbol;
  std::size_t n = sub.poll([&](const EventView& v, bool) {
    EXPECT_GE(v.data_capacity(), v.data().size() + simdjson::SIMDJSON_PADDING);
    auto doc = parse_data(parser, v);
    ASSERT_FALSE(doc.error());
    std::string_view s;
    ASSERT_FALSE(doc["symbol"].get_string().get(s));
    symbol = s;
    ASSERT_FALSE(doc["price"].get_double().get(price));
    auto meta = parse_metadata(parser, v);
    ASSERT_FALSE(meta.error());
  });
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(symbol, "BTC/USDT");
  EXPECT_DOUBLE_EQ(price, 45000.5);
}

TEST(Ring, KeepsTimestampIdAndOriginGivenByThePublisher) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  const Uuid id = *Uuid::parse("00000000-0000-4000-8000-000000000001");
  ASSERT_EQ(bus.try_publish({.type = EventType::rl_action_taken, .origin = EventOrigin::replayed, .correlation = 42,
                             .timestamp_ns = 1'000'000'000, .event_id = id}),
            PublishStatus::ok);
  bool seen = false;
  sub.poll([&](const EventView& v, bool) {
    EXPECT_EQ(v.event_id(), id);
    EXPECT_EQ(v.timestamp_ns(), 1'000'000'000);
    EXPECT_EQ(v.origin(), EventOrigin::replayed);
    EXPECT_EQ(v.correlation(), 42u);
    seen = true;
  });
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace tradpal
