// tests/client/event_client_test.cpp
//
// EventClient and EventSubscriberClient against a real eventd (started as a
// process, EVENTD_BINARY) on a real redis-server: every call, many requests
// in flight, errors of every kind, and a subscriber that lives through a
// kill -9 and restart of eventd with no loss and no duplicate.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "adapters/redis/partitioning.h"

#include "client/event_client.h"
#include "client/event_subscriber_client.h"
#include "engine/event_json.h"
#include "engine/stream_cursor.h"
#include "engine/uuid.h"
#include "redis_server.h"
#include "tests/client/eventd_process.h"

namespace tradpal::client {
namespace {

using namespace std::chrono_literals;
using testing::EventdProcess;
using testing::RedisServer;

class ClientTest : public ::testing::Test {
 protected:
  RedisServer redis_{RedisServer::Options{.appendfsync = "everysec"}};
  EventdProcess eventd_{EVENTD_BINARY, redis_.url(), RedisServer::free_port()};

  ClientOptions options() const { return {.url = eventd_.url(), .request_timeout = 5s}; }

  long long xlen() {
    redisContext* c = redisConnect("127.0.0.1", redis_.port());
    auto* r = static_cast<redisReply*>(redisCommand(c, "XLEN tradpal_events"));
    const long long n = r != nullptr ? r->integer : -1;
    freeReplyObject(r);
    redisFree(c);
    return n;
  }
  // XADDs a wire event straight into the stream (as a Python service would);
  // returns its id.
  std::string xadd(EventType type, const std::string& data) {
    Event e;
    e.type = type;
    e.event_id = Uuid::generate_v4();
    e.timestamp_ns = 1'700'000'000'000'000'000;
    e.source = "python_service";
    e.data = data;
    const std::string json = event_json(e);
    redisContext* c = redisConnect("127.0.0.1", redis_.port());
    auto* r = static_cast<redisReply*>(redisCommand(c, "XADD tradpal_events * event %b", json.data(), json.size()));
    std::string id = r != nullptr && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "";
    freeReplyObject(r);
    redisFree(c);
    return id;
  }
};

TEST_F(ClientTest, EveryCallOfThePythonClientWorksAgainstALiveService) {
  EventClient client(options());
  const HealthReport h = client.health_check();
  EXPECT_TRUE(h.healthy);
  EXPECT_EQ(h.status, "healthy");
  const auto types = client.event_types();
  ASSERT_EQ(types.size(), kEventTypeCount);
  EXPECT_EQ(types.front(), "market_data_update");

  const PublishReceipt a = client.publish_event(EventType::risk_alert, R"({"level": "high"})", "risk_service",
                                                R"({"trace": "t1"})");
  EXPECT_FALSE(a.message_id.empty());
  EXPECT_TRUE(Uuid::parse(a.event_id));
  const PublishReceipt b = client.publish_market_data("BTC/USDT", R"({"price": 50000.5})");
  const PublishReceipt c = client.publish_trading_signal(R"({"symbol": "ETH", "action": "BUY"})", "bot");
  const PublishReceipt d = client.publish_portfolio_update(R"({"cash": 10})");
  for (const auto* r : {&b, &c, &d}) EXPECT_FALSE(r->message_id.empty());

  const auto all = client.get_events();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].type, EventType::risk_alert);
  EXPECT_EQ(all[0].source, "risk_service");
  EXPECT_EQ(all[0].event_id.to_string(), a.event_id);
  ASSERT_TRUE(all[0].stream_id);
  EXPECT_EQ(all[0].stream_id->to_string(), a.message_id);
  EXPECT_EQ(all[1].data, R"({"symbol": "BTC/USDT", "price": 50000.5})");
  EXPECT_EQ(all[2].source, "bot");
  EXPECT_EQ(all[3].stream_id->to_string(), d.message_id);

  const auto signals = client.get_events({.types = {EventType::trading_signal, EventType::portfolio_update}, .limit = 1});
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].type, EventType::portfolio_update);

  const EventStats s = client.get_event_stats();
  EXPECT_EQ(s.stream_length, 4u);
  EXPECT_NE(s.json.find(d.message_id), std::string::npos);
  EXPECT_EQ(client.replay_events({.types = {EventType::risk_alert}}), 1u);
  EXPECT_NE(client.metrics().find("event_service_stream_length"), std::string::npos);
}

TEST_F(ClientTest, ManyPublishesInFlightAllLandOnceWithDistinctIds) {
  ClientOptions o = options();
  o.max_connections = 4;
  o.max_pipeline = 16;
  EventClient client(o);
  constexpr int kEvents = 600;
  std::vector<std::future<PublishReceipt>> futures;
  futures.reserve(kEvents);
  for (int i = 0; i < kEvents; ++i) {
    futures.push_back(client.publish_event_async(EventType::order_executed, "{\"n\": " + std::to_string(i) + "}"));
  }
  std::set<std::string> ids;
  for (auto& f : futures) ids.insert(f.get().message_id);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(xlen(), kEvents);
}

TEST_F(ClientTest, BadJsonIsRefusedBeforeSendingAndNothingIsStored) {
  EventClient client(options());
  for (const char* bad : {R"({"price": })", "[1]", "", "{} {}"}) {
    try {
      (void)client.publish_event(EventType::market_data_update, bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << bad;
      EXPECT_FALSE(e.request_sent());
    }
  }
  EXPECT_THROW((void)client.publish_trading_signal("{", "x"), ClientError);
  EXPECT_EQ(xlen(), 0);
}

TEST_F(ClientTest, TheServersRefusalIsTypedWithItsStatusAndDetail) {
  EventClient client(options());
  try {
    (void)client.get_events({.limit = 5000});
    ADD_FAILURE() << "limit 5000 accepted";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::rejected);
    EXPECT_EQ(e.status(), 422);
    EXPECT_NE(e.detail().find("limit"), std::string::npos) << e.detail();
  }
  try {
    (void)client.get_events({.start_time = "yesterday"});
    ADD_FAILURE() << "a bad time accepted";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::rejected);
    EXPECT_GE(e.status(), 400);
  }
}

TEST_F(ClientTest, RedisDownIsAServerErrorAndTheClientRecoversAfter) {
  EventClient client(options());
  (void)client.publish_event(EventType::system_health, R"({"ok": true})");
  redis_.stop();
  try {
    (void)client.get_events();
    ADD_FAILURE() << "read with Redis down";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::server) << e.what();
    EXPECT_EQ(e.status(), 503);
  }
  EXPECT_FALSE(client.health_check().healthy);
  redis_.start();
  EXPECT_TRUE(testing::eventually([&] { return client.health_check().healthy; }, 10s));
  EXPECT_EQ(client.get_events().size(), 1u);
}

TEST(ClientErrors, NobodyListeningIsUnreachableAndNothingWasSent) {
  EventClient client({.url = "http://127.0.0.1:" + std::to_string(RedisServer::free_port())});
  const auto t0 = std::chrono::steady_clock::now();
  try {
    (void)client.publish_event(EventType::risk_alert);
    ADD_FAILURE() << "published to nobody";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unreachable) << e.what();
    EXPECT_FALSE(e.request_sent());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_THROW(EventClient({.url = "https://127.0.0.1:1"}), ClientError);
}

// A server that accepts and never answers.
struct SilentServer {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  SilentServer() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd); }
};

TEST(ClientErrors, ASilentServerTimesOutAndThePublishMayHaveHappened) {
  SilentServer silent;
  EventClient client({.url = "http://127.0.0.1:" + std::to_string(silent.port), .request_timeout = 300ms});
  const auto t0 = std::chrono::steady_clock::now();
  try {
    (void)client.publish_event(EventType::risk_alert);
    ADD_FAILURE() << "answered by a silent server";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::timed_out) << e.what();
    EXPECT_TRUE(e.request_sent());
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
}

// A scripted stream server: each connection's request is recorded, then it
// is answered with the next script in one write (and held open).
struct ScriptedStreamServer : SilentServer {
  std::vector<std::string> scripts;
  std::vector<std::string> requests;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::thread thread;
  explicit ScriptedStreamServer(std::vector<std::string> s) : scripts(std::move(s)) {
    thread = std::thread([this] {
      std::vector<int> open;
      for (std::size_t i = 0; !stop.load(); ++i) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
          --i;
          continue;
        }
        const int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) break;
        open.push_back(c);
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos) {
          const ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<std::size_t>(n));
        }
        {
          std::lock_guard lock(mu);
          requests.push_back(req);
        }
        const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
        const std::string body = head + (i < scripts.size() ? scripts[i] : std::string());
        (void)::send(c, body.data(), body.size(), MSG_NOSIGNAL);
      }
      for (int c : open) ::close(c);
    });
  }
  ~ScriptedStreamServer() {
    stop.store(true);
    thread.join();
  }
  std::vector<std::string> seen_requests() {
    std::lock_guard lock(mu);
    return requests;
  }
};

std::string sse_event(const std::string& id, const std::string& n) {
  const std::string json = R"({"event_type": "risk_alert", "event_id": "5f0c7e2a-1b3d-4c5e-8f90-123456789abc", )"
                           R"("timestamp": "2026-11-29T16:00:00.123456", "source": "s", "data": {"n": )" +
                           n + R"(}, "metadata": {}})";
  return "id: " + id + "\nevent: risk_alert\ndata: " + json + "\n\n";
}

// eventd's `missed` note names events the stream does not hold (eventd
// reads the stream's own again for a slow client): nothing a reconnect could
// bring back. The subscriber counts them and goes on on the same connection,
// handling what follows the note.
TEST(ClientErrors, AMissedNoteIsCountedAndTheStreamGoesOn) {
  ScriptedStreamServer server({sse_event("1-0", "1") + "event: missed\ndata: {\"missed\": 2, \"total_missed\": 2}\n\n" +
                               sse_event("3-0", "3")});
  SubscriberOptions so;
  so.url = "http://127.0.0.1:" + std::to_string(server.port);
  so.from = "0-0";
  EventSubscriberClient sub(so);
  std::mutex mu;
  std::vector<std::string> got;
  sub.on(EventType::risk_alert, [&](const StreamEvent& e) {
    std::lock_guard lock(mu);
    got.emplace_back(e.message_id);
  });
  sub.start();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (got.size() >= 2 || std::chrono::steady_clock::now() > deadline) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(50ms);  // a reconnect, were there one, would show by now
  sub.stop();
  EXPECT_EQ(got, (std::vector<std::string>{"1-0", "3-0"}));
  EXPECT_EQ(sub.missed(), 2u);
  EXPECT_EQ(server.seen_requests().size(), 1u) << "no reconnect for a missed note";
  EXPECT_EQ(sub.reconnects(), 0u);
}

TEST(ClientErrors, CallsPendingWhenTheClientIsDestroyedFailAsClosed) {
  SilentServer silent;
  std::future<PublishReceipt> pending;
  {
    EventClient client({.url = "http://127.0.0.1:" + std::to_string(silent.port), .request_timeout = 30s});
    pending = client.publish_event_async(EventType::risk_alert);
  }
  try {
    (void)pending.get();
    ADD_FAILURE() << "answered";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::closed);
  }
}

TEST_F(ClientTest, TheSubscriberLivesThroughAKill9OfEventdWithNoLossAndNoDuplicate) {
  SubscriberOptions so;
  so.url = eventd_.url();
  so.retry_min = 20ms;
  so.retry_max = 200ms;
  EventSubscriberClient sub(so);
  std::mutex mu;
  std::vector<std::string> seen_ids, seen_other;
  std::atomic<bool> live{false};
  sub.on(EventType::risk_alert, [&](const StreamEvent& e) {
    std::lock_guard lock(mu);
    seen_ids.emplace_back(e.message_id);
    EXPECT_EQ(e.event.stream_id->to_string(), e.message_id);
  });
  sub.on(EventType::trading_signal, [&](const StreamEvent& e) {
    std::lock_guard lock(mu);
    seen_other.emplace_back(e.message_id);
  });
  sub.on_state([&](StreamState s, std::string_view) {
    if (s == StreamState::live) live = true;
  });
  sub.start();
  ASSERT_TRUE(testing::eventually([&] { return live.load() && !sub.last_id().empty(); }, 5s))
      << "the stream names its start";

  std::vector<std::string> expected;
  {
    EventClient client(options());
    for (int i = 0; i < 50; ++i) {
      expected.push_back(client.publish_event(EventType::risk_alert, "{\"n\": " + std::to_string(i) + "}").message_id);
      if (i % 10 == 0) (void)client.publish_event(EventType::order_executed);  // not asked for
    }
  }
  ASSERT_TRUE(testing::eventually([&] { return sub.handled() >= 50; }, 10s));
  eventd_.stop(SIGKILL);
  // While eventd is down, a Python service keeps writing to the stream.
  for (int i = 0; i < 100; ++i) expected.push_back(xadd(EventType::risk_alert, "{\"down\": " + std::to_string(i) + "}"));
  const std::string other = xadd(EventType::trading_signal, "{}");
  eventd_.start();
  {
    EventClient client(options());
    for (int i = 0; i < 50; ++i) {
      expected.push_back(client.publish_event(EventType::risk_alert, "{\"after\": " + std::to_string(i) + "}").message_id);
    }
  }
  ASSERT_TRUE(testing::eventually([&] { return sub.handled() >= 201; }, 15s)) << sub.handled();
  std::this_thread::sleep_for(200ms);  // anything extra would show now
  sub.stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(seen_ids, expected);
  EXPECT_EQ(seen_other, std::vector<std::string>{other});
  EXPECT_GE(sub.reconnects(), 1u);
  EXPECT_EQ(sub.handler_failures(), 0u);
}

// eventd with 3 partition streams (one Redis node holds them all): the SSE
// id is a cursor of 3 stream ids, and the subscriber resumes by it across a
// kill -9 of eventd, during which a Python service writes to the partition
// streams directly. Every event reaches it once, each symbol in order.
TEST(PartitionedClientTest, TheSubscriberFollowsACursorOverPartitionsThroughAKill9OfEventd) {
  RedisServer redis{RedisServer::Options{.appendfsync = "everysec"}};
  EventdProcess eventd(EVENTD_BINARY, redis.url(), RedisServer::free_port(), {{"EVENT_SERVICE_PARTITIONS", "3"}});
  SubscriberOptions so;
  so.url = eventd.url();
  so.retry_min = 20ms;
  so.retry_max = 200ms;
  EventSubscriberClient sub(so);
  std::mutex mu;
  std::vector<std::string> cursors;
  std::map<std::string, std::vector<int>> per_symbol;
  std::vector<std::string> event_ids;
  sub.on(EventType::market_data_update, [&](const StreamEvent& e) {
    std::lock_guard lock(mu);
    cursors.emplace_back(e.message_id);
    event_ids.push_back(e.event.event_id.to_string());
    simdjson::dom::parser parser;
    const simdjson::dom::element data = parser.parse(std::string(e.event.data));
    per_symbol[std::string(data["symbol"].get_string().value())].push_back(
        static_cast<int>(data["n"].get_int64().value()));
  });
  sub.start();
  ASSERT_TRUE(testing::eventually([&] { return !sub.last_id().empty(); }, 5s)) << "the stream names its start";
  const std::string start = sub.last_id();
  EXPECT_EQ(std::count(start.begin(), start.end(), ','), 2) << start;

  std::vector<std::string> expected;
  std::map<std::string, int> next;
  auto data_of = [&](int i) {
    const std::string symbol = "SYM" + std::to_string(i % 6);
    return R"({"symbol": ")" + symbol + R"(", "n": )" + std::to_string(next[symbol]++) + "}";
  };
  int i = 0;
  {
    EventClient client({.url = eventd.url(), .request_timeout = 5s});
    for (; i < 60; ++i) {
      expected.push_back(client.publish_event(EventType::market_data_update, data_of(i)).event_id);
    }
  }
  ASSERT_TRUE(testing::eventually([&] { return sub.handled() >= 60; }, 10s)) << sub.handled();
  eventd.stop(SIGKILL);
  // While eventd is down a Python service writes into the partition streams
  // (each symbol into the one partition eventd would pick for it).
  redisContext* c = redisConnect("127.0.0.1", redis.port());
  auto* keys = static_cast<redisReply*>(redisCommand(c, "KEYS tradpal_events:*"));
  ASSERT_EQ(keys->elements, 3u);
  const redis::Partitioning partitioning("tradpal_events", {.count = 3});
  for (int k = 0; k < 30; ++i, ++k) {
    Event e;
    e.type = EventType::market_data_update;
    e.event_id = Uuid::generate_v4();
    e.timestamp_ns = 1'700'000'000'000'000'000;
    e.source = "python_service";
    e.data = data_of(i);
    const std::string json = event_json(e);
    const std::string symbol = "SYM" + std::to_string(i % 6);
    const std::string& stream = partitioning.stream(partitioning.partition_of_key(symbol));
    auto* r = static_cast<redisReply*>(
        redisCommand(c, "XADD %b * event %b", stream.data(), stream.size(), json.data(), json.size()));
    ASSERT_EQ(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    expected.push_back(e.event_id.to_string());
  }
  freeReplyObject(keys);
  redisFree(c);
  eventd.start();
  {
    EventClient client({.url = eventd.url(), .request_timeout = 5s});
    for (int k = 0; k < 30; ++i, ++k) {
      expected.push_back(client.publish_event(EventType::market_data_update, data_of(i)).event_id);
    }
  }
  ASSERT_TRUE(testing::eventually([&] { return sub.handled() >= 120; }, 15s)) << sub.handled();
  std::this_thread::sleep_for(200ms);  // anything extra would show now
  sub.stop();
  std::lock_guard lock(mu);
  std::vector<std::string> got = event_ids;
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected) << "every event once";
  for (const auto& [symbol, ns] : per_symbol) {
    std::vector<int> want(ns.size());
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(ns, want) << symbol << " in order";
  }
  for (const std::string& cursor : cursors) {
    ASSERT_TRUE(parse_stream_cursor(cursor).has_value()) << cursor;
    EXPECT_EQ(parse_stream_cursor(cursor)->size(), 3u) << cursor;
  }
  EXPECT_GE(sub.reconnects(), 1u);
}

TEST_F(ClientTest, ASubscriberStartsAfterTheIdItIsGivenAndAThrowingHandlerIsCounted) {
  EventClient client(options());
  const std::string first = client.publish_event(EventType::ml_model_update, R"({"v": 1})").message_id;
  const std::string second = client.publish_event(EventType::ml_model_update, R"({"v": 2})").message_id;
  SubscriberOptions so;
  so.url = eventd_.url();
  so.from = first;
  EventSubscriberClient sub(so);
  std::vector<std::string> seen;
  std::mutex mu;
  sub.on_any([&](const StreamEvent& e) {
    std::lock_guard lock(mu);
    seen.emplace_back(e.message_id);
    throw std::runtime_error("handler failure under test");
  });
  sub.start();
  ASSERT_TRUE(testing::eventually([&] { return sub.handled() >= 1; }, 5s));
  const std::string third = client.publish_event(EventType::ml_model_update, R"({"v": 3})").message_id;
  ASSERT_TRUE(testing::eventually([&] { return sub.handled() >= 2; }, 5s));
  sub.stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{second, third}));
  EXPECT_EQ(sub.handler_failures(), 2u);
  EXPECT_THROW(EventSubscriberClient({.url = eventd_.url(), .from = "not-an-id"}), ClientError);
}

TEST_F(ClientTest, ASubscriberAskingForABadTypeOrGivingUpSaysSo) {
  // Nobody listens: it gives up after give_up_after with unreachable.
  EventSubscriberClient gone({.url = "http://127.0.0.1:" + std::to_string(RedisServer::free_port()),
                              .retry_min = 20ms,
                              .retry_max = 50ms,
                              .give_up_after = 300ms});
  try {
    gone.run();
    ADD_FAILURE() << "did not give up";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unreachable) << e.what();
  }
}

}  // namespace
}  // namespace tradpal::client
