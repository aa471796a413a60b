// EventStore against a real redis-server: the recorded TradPal fixtures,
// the edge cases, paging semantics, replay and stats.
#include "adapters/redis/event_store.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <string>
#include <vector>

#include "adapters/redis/stream_id.h"
#include "engine/event_json.h"
#include "engine/subscriber_thread.h"
#include "test_support.h"

namespace tradpal::redis {
namespace {

using namespace std::chrono_literals;
using testing::RedisServer;

std::string minified(std::string_view json) {
  simdjson::dom::parser p;
  return simdjson::minify(p.parse(simdjson::padded_string(json)).value());
}

class EventStoreTest : public ::testing::Test {
 protected:
  EventStoreOptions store_options(std::size_t page = 1000) {
    return {.url = RedisUrl::parse(server.url()), .stream = "tradpal_events", .page_size = page};
  }
  // An event at `ms` (the entry id is <ms>-<seq>) whose data names it.
  void add_event(EventType type, std::uint64_t ms, std::uint64_t seq, int n) {
    Event e;
    e.type = type;
    e.event_id = Uuid::generate_v4();
    e.timestamp_ns = static_cast<TimestampNs>(ms) * 1'000'000;
    e.source = "test";
    e.data = "{\"n\": " + std::to_string(n) + "}";
    client.checked({"XADD", "tradpal_events", std::to_string(ms) + "-" + std::to_string(seq), "event", event_json(e)});
  }
  static int n_of(const StoredEvent& e) { return std::stoi(e.event.data.substr(6)); }

  RedisServer server;
  SyncClient client{RedisUrl::parse(server.url())};
};

// Bytes Redis has sent to clients so far (INFO stats).
std::uint64_t net_output_bytes(SyncClient& c) {
  auto r = c.command({"INFO", "stats"});
  const std::string text(r->str, r->len);
  const auto at = text.find("total_net_output_bytes:");
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + 23));
}

TEST_F(EventStoreTest, AFilterThatMatchesNothingReadsABoundedPartOfTheStream) {
  // One risk alert, then 3,000 market-data entries after it.
  add_event(EventType::risk_alert, 1000, 0, 0);
  for (int i = 1; i <= 3000; ++i) add_event(EventType::market_data_update, 1000 + i, 0, i);
  EventStoreOptions o = store_options();
  o.max_scan = 1000;
  EventStore bounded(o);
  bool truncated = false;
  EXPECT_TRUE(bounded.get_events({EventType::risk_alert}, std::nullopt, std::nullopt, 10, &truncated).empty());
  EXPECT_TRUE(truncated) << "the scan stopped at its bound, and says so";
  truncated = false;
  EXPECT_TRUE(bounded.get_events({EventType::risk_alert}, 1001 * 1'000'000LL, std::nullopt, 10, &truncated).empty());
  EXPECT_TRUE(truncated);
  // Past the bound the alert is there: the bound, not the filter, stopped it.
  o.max_scan = 5000;
  EventStore wide(o);
  truncated = true;
  EXPECT_EQ(wide.get_events({EventType::risk_alert}, std::nullopt, std::nullopt, 10, &truncated).size(), 1u);
  EXPECT_FALSE(truncated);
  // A limit reached within the bound is not a truncation.
  truncated = true;
  EXPECT_EQ(bounded.get_events({}, std::nullopt, std::nullopt, 5, &truncated).size(), 5u);
  EXPECT_FALSE(truncated);
}

TEST_F(EventStoreTest, LargeEventsAreReadInPagesThatFitNotAThousandAtATime) {
  Event e;
  e.type = EventType::system_health;
  e.source = "big";
  e.data = "{\"blob\": \"" + std::string(std::size_t{1} << 20, 'x') + "\"}";
  for (int i = 0; i < 60; ++i) {
    e.event_id = Uuid::generate_v4();
    e.timestamp_ns = (1000 + i) * 1'000'000LL;
    client.checked({"XADD", "tradpal_events", std::to_string(1000 + i) + "-0", "event", event_json(e)});
  }
  EventStore store(store_options());
  auto before = net_output_bytes(client);
  ASSERT_EQ(store.get_events({}, std::nullopt, std::nullopt, 1).size(), 1u);
  auto sent = net_output_bytes(client) - before;
  EXPECT_LT(sent, std::uint64_t{4} << 20) << "limit=1 read " << sent << " bytes";
  before = net_output_bytes(client);
  ASSERT_EQ(store.get_events({}, 1000 * 1'000'000LL, std::nullopt, 1).size(), 1u);
  sent = net_output_bytes(client) - before;
  EXPECT_LT(sent, std::uint64_t{4} << 20) << "limit=1 from a start time read " << sent << " bytes";
  // Every event still comes back, in pages of at most ~4 MiB.
  const auto all = store.get_events({}, std::nullopt, std::nullopt, 100);
  EXPECT_EQ(all.size(), 60u);
  std::uint64_t replayed = 0;
  store.replay({}, std::nullopt, std::nullopt, [&](const StoredEvent&) { ++replayed; });
  EXPECT_EQ(replayed, 60u);
}

TEST_F(EventStoreTest, EveryRecordedFixtureEntryDecodesToItsFields) {
  const auto entries = testing::load_fixture("tradpal_stream.jsonl");
  ASSERT_EQ(entries.size(), 19u);
  for (const auto& e : entries) testing::add_raw(client, "tradpal_events", e);
  EventStore store(store_options());
  const auto events = store.get_events({}, std::nullopt, std::nullopt, 1000);
  ASSERT_EQ(events.size(), entries.size());
  EventTypeSet seen;
  simdjson::dom::parser parser;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const StoredEvent& got = events[i];
    EXPECT_EQ(got.id, entries[i].id);
    const std::string& json = entries[i].fields[0].second;
    simdjson::dom::element want = parser.parse(json);
    EXPECT_EQ(to_string(got.event.type), std::string_view(want["event_type"]));
    EXPECT_EQ(got.event.event_id.to_string(), std::string_view(want["event_id"]));
    EXPECT_EQ(got.event.timestamp_ns, *parse_iso_timestamp(std::string_view(want["timestamp"])));
    EXPECT_EQ(got.event.source, std::string_view(want["source"]));
    EXPECT_EQ(minified(got.event.data), simdjson::minify(want["data"].value())) << got.id;
    EXPECT_EQ(minified(got.event.metadata), simdjson::minify(want["metadata"].value())) << got.id;
    seen.add(got.event.type);
  }
  EXPECT_EQ(seen.bits(), EventTypeSet::all().bits());
  EXPECT_EQ(store.skips().total(), 0u);
}

TEST_F(EventStoreTest, EdgeEntriesAreAcceptedOrSkippedAndCountedWhileReadingGoesOn) {
  const auto entries = testing::load_fixture("tradpal_stream_edge.jsonl");
  std::size_t accepts = 0;
  for (const auto& e : entries) {
    testing::add_raw(client, "tradpal_events", e);
    accepts += e.expect == "accept" ? 1 : 0;
  }
  // One good event after every bad one: the reader must get past them.
  add_event(EventType::order_executed, 1795969700000, 0, 42);
  EventStore store(store_options(4));  // small pages: skips straddle page ends
  const auto events = store.get_events({}, std::nullopt, std::nullopt, 1000);
  ASSERT_EQ(events.size(), accepts + 1);
  std::size_t i = 0;
  for (const auto& e : entries) {
    if (e.expect != "accept") continue;
    EXPECT_EQ(events[i].id, e.id) << e.why;
    ++i;
  }
  EXPECT_EQ(events.back().event.type, EventType::order_executed);
  EXPECT_EQ(store.skips().total(), entries.size() - accepts);
  EXPECT_EQ(store.skips().count(DecodeError::unknown_event_type), 1u);
  EXPECT_EQ(store.skips().count(DecodeError::data_not_object), 1u);
  EXPECT_EQ(store.skips().count(DecodeError::missing_field), 2u);  // no event field; no event_id
  EXPECT_EQ(store.skips().count(DecodeError::not_json), 2u);       // "{not json"; nesting depth 2000

  // The same entries through the newest-first path.
  EventStore store2(store_options(3));
  const auto recent = store2.get_events({}, std::nullopt, std::nullopt, 2);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].id, "1795969600000-6");
  EXPECT_EQ(recent[1].id, "1795969700000-0");
}

TEST_F(EventStoreTest, LimitCountsMatchingEventsAndResultsAreInStreamOrder) {
  // 30 events at ms 1000..1029: every third a trading_signal.
  for (int i = 0; i < 30; ++i) {
    add_event(i % 3 == 0 ? EventType::trading_signal : EventType::market_data_update, 1000 + i, 0, i);
  }
  EventStore store(store_options(4));
  const EventTypeSet signals{EventType::trading_signal};

  // No start: the most recent matches, oldest first.
  auto recent = store.get_events(signals, std::nullopt, std::nullopt, 3);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(n_of(recent[0]), 21);
  EXPECT_EQ(n_of(recent[1]), 24);
  EXPECT_EQ(n_of(recent[2]), 27);

  // With a start: the first matches from there (limit counts matches, not entries).
  const auto from = store.get_events(signals, 1005 * 1'000'000LL, std::nullopt, 4);
  ASSERT_EQ(from.size(), 4u);
  EXPECT_EQ(n_of(from[0]), 6);
  EXPECT_EQ(n_of(from[3]), 15);

  // An end time inside a millisecond includes that millisecond; naive = UTC ms.
  const auto window = store.get_events({}, 1010 * 1'000'000LL, 1012 * 1'000'000LL + 999'999, 100);
  ASSERT_EQ(window.size(), 3u);
  EXPECT_EQ(n_of(window[0]), 10);
  EXPECT_EQ(n_of(window[2]), 12);

  const auto before_end = store.get_events({}, std::nullopt, 1004 * 1'000'000LL, 100);
  ASSERT_EQ(before_end.size(), 5u);
  EXPECT_EQ(n_of(before_end[0]), 0);
  EXPECT_EQ(n_of(before_end[4]), 4);

  EXPECT_TRUE(store.get_events({}, std::nullopt, std::nullopt, 0).empty());
  EXPECT_TRUE(store.get_events({EventType::rl_model_update}, std::nullopt, std::nullopt, 10).empty());
}

TEST_F(EventStoreTest, ReplayWithTypeAndTimeFiltersDeliversExactlyTheExpectedEventsInOrder) {
  for (int i = 0; i < 50; ++i) {
    const EventType t = i % 2 == 0 ? EventType::order_executed : EventType::risk_alert;
    add_event(t, 5000 + i / 2, static_cast<std::uint64_t>(i % 2), i);
  }
  EventStore store(store_options(7));
  std::vector<int> got;
  std::vector<ReplayProgress> progress;
  const std::uint64_t n = store.replay(
      {EventType::risk_alert}, 5010 * 1'000'000LL, 5019 * 1'000'000LL,
      [&](const StoredEvent& e) {
        EXPECT_EQ(e.event.type, EventType::risk_alert);
        got.push_back(n_of(e));
      },
      [&](const ReplayProgress& p) { progress.push_back(p); });
  std::vector<int> want;
  for (int i = 21; i < 40; i += 2) want.push_back(i);  // ms 5010..5019, odd seq
  EXPECT_EQ(got, want);
  EXPECT_EQ(n, want.size());
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().replayed, want.size());
  EXPECT_EQ(progress.back().scanned, 20u);
}

TEST_F(EventStoreTest, ReplayIntoTheBusMarksEventsReplayed) {
  for (int i = 0; i < 100; ++i) add_event(EventType::feature_vector_update, 9000 + i, 0, i);
  Bus bus;
  std::vector<int> seen;
  std::mutex m;
  std::atomic<int> foreign{0};
  auto sub = bus.subscribe();
  EventStore store(store_options(16));
  const std::uint64_t n = store.replay({}, 9050 * 1'000'000LL, std::nullopt, bus);
  EXPECT_EQ(n, 50u);
  sub.poll([&](const EventView& v, bool) {
    foreign += v.origin() == EventOrigin::replayed ? 1 : 0;
    std::lock_guard lock(m);
    seen.push_back(std::stoi(std::string(v.data().substr(6))));
  });
  ASSERT_EQ(seen.size(), 50u);
  EXPECT_EQ(seen.front(), 50);
  EXPECT_EQ(seen.back(), 99);
  EXPECT_EQ(foreign.load(), 50);
}

TEST_F(EventStoreTest, BusReplayReadingAheadDeliversWhatTheHandlerReplayDelivers) {
  // Many small pages with entries to skip between them: the bus replay reads
  // pages on a helper thread, and must still agree with the handler replay
  // event for event, in order, with the same skip counts.
  for (int i = 0; i < 600; ++i) {
    add_event(i % 5 == 0 ? EventType::risk_alert : EventType::order_executed, 20000 + i, 0, i);
    if (i % 97 == 0) client.checked({"XADD", "tradpal_events", std::to_string(20000 + i) + "-1", "event", "{not json"});
    if (i % 89 == 0) {
      client.checked({"XADD", "tradpal_events", std::to_string(20000 + i) + "-2", "other", "field"});
    }
  }
  for (const EventTypeSet types : {EventTypeSet{}, EventTypeSet{EventType::risk_alert}}) {
    EventStore by_handler(store_options(16));
    std::vector<int> want;
    const std::uint64_t n_handler =
        by_handler.replay(types, 20010 * 1'000'000LL, std::nullopt, [&](const StoredEvent& e) { want.push_back(n_of(e)); });

    EventStore by_bus(store_options(16));
    Bus bus;
    auto sub = bus.subscribe();
    std::vector<ReplayProgress> progress;
    const std::uint64_t n_bus = by_bus.replay(types, 20010 * 1'000'000LL, std::nullopt, bus,
                                              [&](const ReplayProgress& p) { progress.push_back(p); });
    std::vector<int> got;
    while (sub.poll([&](const EventView& v, bool) { got.push_back(std::stoi(std::string(v.data().substr(6)))); }) > 0) {
    }
    EXPECT_EQ(n_bus, n_handler);
    EXPECT_EQ(got, want);
    EXPECT_EQ(got.size(), types.empty() ? 590u : 118u);
    EXPECT_EQ(by_bus.skips().count(DecodeError::not_json), by_handler.skips().count(DecodeError::not_json));
    EXPECT_EQ(by_bus.skips().count(DecodeError::missing_field), by_handler.skips().count(DecodeError::missing_field));
    EXPECT_EQ(by_bus.skips().total(), 6u + 6u);
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back().replayed, n_bus);
    EXPECT_EQ(progress.back().scanned, 590u + 12u);
    EXPECT_EQ(progress.back().last_id, "20599-0");
  }
}

TEST_F(EventStoreTest, StoreStaysInStepWhenAReplayEndsEarly) {
  for (int i = 0; i < 200; ++i) add_event(EventType::system_health, 30000 + i, 0, i);
  EventStore store(store_options(8));
  // A handler that throws in the middle of a page, pages still being read.
  int calls = 0;
  EXPECT_THROW((void)store.replay({}, std::nullopt, std::nullopt,
                                  [&](const StoredEvent&) {
                                    if (++calls == 21) throw std::runtime_error("handler failed");
                                  }),
               std::runtime_error);
  // Every later call gets its own replies, not a page left on the wire.
  auto events = store.get_events({}, 30100 * 1'000'000LL, std::nullopt, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(n_of(events[0]), 100);
  EXPECT_EQ(store.stats().length, 200u);

  // A closed bus ends a replay at once; the store carries on.
  Bus bus;
  bus.close();
  EXPECT_EQ(store.replay({}, std::nullopt, std::nullopt, bus), 0u);
  events = store.get_events({}, std::nullopt, std::nullopt, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(n_of(events[1]), 199);
  EXPECT_EQ(store.replay({}, 30190 * 1'000'000LL, std::nullopt, [](const StoredEvent&) {}), 10u);
}

TEST_F(EventStoreTest, StatsReportLengthEntriesAndGroups) {
  EventStore store(store_options());
  EXPECT_FALSE(store.stats().exists);
  for (int i = 0; i < 10; ++i) add_event(EventType::system_health, 7000 + i, 0, i);
  store.ensure_group("tradpal_consumers", "0");
  store.ensure_group("tradpal_consumers", "0");  // BUSYGROUP is fine
  auto r = client.checked({"XREADGROUP", "GROUP", "tradpal_consumers", "c1", "COUNT", "4", "STREAMS",
                           "tradpal_events", ">"});
  const StreamStats s = store.stats();
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.length, 10u);
  ASSERT_TRUE(s.first_entry && s.last_entry);
  EXPECT_EQ(s.first_entry->id, "7000-0");
  EXPECT_EQ(s.last_entry->id, "7009-0");
  ASSERT_EQ(s.last_entry->fields.size(), 1u);
  EXPECT_EQ(s.last_entry->fields[0].first, "event");
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].name, "tradpal_consumers");
  EXPECT_EQ(s.groups[0].consumers, 1u);
  EXPECT_EQ(s.groups[0].pending, 4u);
  EXPECT_EQ(s.groups[0].last_delivered_id, "7003-0");
  ASSERT_TRUE(s.groups[0].lag.has_value());
  EXPECT_EQ(*s.groups[0].lag, 6u);
}

TEST(EventStoreConnectTest, AuthWithAclUserAndSelect) {
  RedisServer server(RedisServer::Options{.extra_args = {"--requirepass", "topsecret"}});
  {
    SyncClient admin(RedisUrl::parse("redis://:topsecret@127.0.0.1:" + std::to_string(server.port())));
    admin.checked({"ACL", "SETUSER", "svc", "on", ">svcpass", "~*", "+@all"});
  }
  const std::string base = "127.0.0.1:" + std::to_string(server.port());
  EventStore store({.url = RedisUrl::parse("redis://svc:svcpass@" + base + "/2")});
  EXPECT_FALSE(store.stats().exists);
  SyncClient db2(RedisUrl::parse("redis://svc:svcpass@" + base + "/2"));
  db2.checked({"XADD", "tradpal_events", "*", "event", "{}"});
  EXPECT_TRUE(store.stats().exists);  // the same database: SELECT 2 happened
  try {
    EventStore bad({.url = RedisUrl::parse("redis://svc:wrongpass@" + base)});
    FAIL() << "connected with a wrong password";
  } catch (const RedisError& e) {
    EXPECT_EQ(std::string(e.what()).find("wrongpass"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("authentication"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tradpal::redis
