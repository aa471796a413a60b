// benchmarks/client/client_bench.cpp
//
// The C++ client against a real eventd on a real redis-server (appendonly
// off), each beside a baseline measured in the same run, in alternating
// rounds (TRADPAL_BENCH_ROUNDS, default 3; figure = median round ratio):
//
//   client_publish_32_in_flight   EventClient::publish_event_async with 32
//       requests in flight (4 keep-alive connections x 8 pipelined), for
//       TRADPAL_BENCH_SECONDS (default 5). Baseline: wrk -t2 -c32 POST
//       /events with the same body (benchmarks/http/post_event.lua) against
//       the same eventd. Target >= 0.5x wrk.
//   subscriber_events_per_s       EventSubscriberClient handling a backlog of
//       N stored events (from the stream's start: eventd reads the gap from
//       Redis and streams it). Baseline: a raw socket reading the same
//       stream and counting `id:` lines, no parsing. Target >= 100 k/s.
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/support/report.h"
#include "client/event_client.h"
#include "client/event_subscriber_client.h"
#include "redis_server.h"
#include "tests/client/eventd_process.h"

namespace {

using Clock = std::chrono::steady_clock;
using tradpal::client::EventClient;

constexpr std::string_view kData =
    R"({"symbol": "BTC/USDT", "price": 45000.0, "volume": 1234.56, "change_24h": 2.5, "timestamp": "2026-11-29T16:00:00.123456"})";
constexpr std::string_view kMetadata = R"({"feed": "binance", "seq": 1795969628})";

int env_int(const char* name, int fallback) {
  const char* s = std::getenv(name);
  const int v = s != nullptr ? std::atoi(s) : 0;
  return v > 0 ? v : fallback;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ---- publishing -----------------------------------------------------------------------

double wrk_post_rate(const std::string& url, int seconds) {
  const std::string cmd = "wrk -t2 -c32 -d" + std::to_string(seconds) + "s -s " + POST_EVENT_LUA + " " + url +
                          "/events 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("cannot run wrk");
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  if (::pclose(p) != 0) throw std::runtime_error("wrk failed: " + out);
  if (out.find("Non-2xx") != std::string::npos) throw std::runtime_error("wrk saw non-2xx answers: " + out);
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([\d.]+))"))) {
    throw std::runtime_error("no rate in wrk's output: " + out);
  }
  return std::stod(m[1]);
}

double client_publish_rate(const std::string& url, int seconds) {
  EventClient client({.url = url, .max_connections = 4, .max_pipeline = 8});
  std::deque<std::future<tradpal::client::PublishReceipt>> in_flight;
  std::uint64_t done = 0;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    while (in_flight.size() < 32) {
      in_flight.push_back(
          client.publish_event_async(tradpal::EventType::market_data_update, kData, "data_service", kMetadata));
    }
    (void)in_flight.front().get();  // throws on any failure: the run is void
    in_flight.pop_front();
    ++done;
  }
  for (auto& f : in_flight) (void)f.get();
  return static_cast<double>(done) / seconds_since(t0);
}

// ---- the stream ---------------------------------------------------------------------------

void preload(int redis_port, std::size_t n) {
  redisContext* c = redisConnect("127.0.0.1", redis_port);
  if (c == nullptr || c->err != 0) throw std::runtime_error("cannot connect to redis");
  const std::string event =
      R"({"event_type": "market_data_update", "event_id": "5f0c7e2a-1b3d-4c5e-8f90-123456789abc", )"
      R"("timestamp": "2026-11-29T16:00:00.123456", "source": "data_service", "data": )" +
      std::string(kData) + R"(, "metadata": {}})";
  for (std::size_t i = 0; i < n; i += 1000) {
    const std::size_t k = std::min<std::size_t>(1000, n - i);
    for (std::size_t j = 0; j < k; ++j) {
      redisAppendCommand(c, "XADD tradpal_events * event %b", event.data(), event.size());
    }
    for (std::size_t j = 0; j < k; ++j) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK) throw std::runtime_error("XADD failed");
      freeReplyObject(r);
    }
  }
  redisFree(c);
}

double subscriber_rate(const std::string& url, std::size_t n) {
  tradpal::client::SubscriberOptions o;
  o.url = url;
  o.from = "0-0";
  tradpal::client::EventSubscriberClient sub(o);
  std::atomic<std::size_t> handled{0};
  std::uint64_t bytes = 0;
  sub.on(tradpal::EventType::market_data_update, [&](const tradpal::client::StreamEvent& e) {
    bytes += e.event.data.size();
    handled.fetch_add(1, std::memory_order_relaxed);
  });
  const auto t0 = Clock::now();
  sub.start();
  while (handled.load(std::memory_order_relaxed) < n) {
    if (seconds_since(t0) > 120) {
      throw std::runtime_error("the subscriber did not get every event: " + std::to_string(handled.load()) + " of " +
                               std::to_string(n) + " in 120 s, after " + std::to_string(sub.reconnects()) +
                               " reconnects");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double rate = static_cast<double>(n) / seconds_since(t0);
  sub.stop();
  if (bytes == 0) throw std::runtime_error("no data seen");
  return rate;
}

// The same stream read by a socket that only counts "id: " at line starts.
double raw_stream_rate(int port, std::size_t n) {
  const auto t0 = Clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("cannot connect");
  // HTTP/1.0: the body comes unchunked, so no chunk header can split an
  // "id: " line (a split one would go uncounted and the count never end).
  const std::string req = "GET /events/stream HTTP/1.0\r\nHost: bench\r\nLast-Event-ID: 0-0\r\n\r\n";
  timeval quiet{.tv_sec = 10, .tv_usec = 0};  // a stalled stream fails the run instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof quiet);
  if (::send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) throw std::runtime_error("send");
  std::size_t seen = 0;
  std::vector<char> buf(1 << 16);
  char prev[4] = {0, 0, 0, 0};  // the last bytes of the previous read
  while (seen < n) {
    const ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
    if (got <= 0) throw std::runtime_error("the stream ended or stalled after " + std::to_string(seen) + " events");
    // Count "\nid: " across read boundaries.
    std::string window(prev, 4);
    window.append(buf.data(), static_cast<std::size_t>(got));
    for (std::size_t at = window.find("\nid: "); at != std::string::npos; at = window.find("\nid: ", at + 1)) ++seen;
    std::memcpy(prev, window.data() + window.size() - 4, 4);
    if (seconds_since(t0) > 120) throw std::runtime_error("the raw reader did not get every event");
  }
  ::close(fd);
  return static_cast<double>(n) / seconds_since(t0);
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows as it happens
  const int rounds = env_int("TRADPAL_BENCH_ROUNDS", 3);
  const int seconds = env_int("TRADPAL_BENCH_SECONDS", 5);
  const auto backlog = static_cast<std::size_t>(env_int("TRADPAL_BENCH_EVENTS", 200000));
  tradpal::testing::RedisServer redis(tradpal::testing::RedisServer::Options{.appendonly = false});
  tradpal::testing::EventdProcess eventd(EVENTD_BINARY, redis.url(), tradpal::testing::RedisServer::free_port());

  std::vector<double> publish_ratio, client_rates, wrk_rates;  // one entry per round
  for (int r = 0; r < rounds; ++r) {
    // Alternate who goes first, so neither always meets a warmer (or fuller) Redis.
    double w = 0, c = 0;
    if (r % 2 == 0) {
      w = wrk_post_rate(eventd.url(), seconds);
      c = client_publish_rate(eventd.url(), seconds);
    } else {
      c = client_publish_rate(eventd.url(), seconds);
      w = wrk_post_rate(eventd.url(), seconds);
    }
    std::printf("round %d: EventClient %.0f publishes/s, wrk %.0f req/s, ratio %.3f\n", r + 1, c, w, c / w);
    client_rates.push_back(c);
    wrk_rates.push_back(w);
    publish_ratio.push_back(c / w);
  }

  // A fresh stream for the subscriber: only the backlog.
  {
    redisContext* c = redisConnect("127.0.0.1", redis.port());
    freeReplyObject(redisCommand(c, "DEL tradpal_events"));
    redisFree(c);
  }
  preload(redis.port(), backlog);
  std::vector<double> sub_ratio, sub_rates, raw_rates;
  for (int r = 0; r < rounds; ++r) {
    double s = 0, raw = 0;
    if (r % 2 == 0) {
      s = subscriber_rate(eventd.url(), backlog);
      raw = raw_stream_rate(eventd.port(), backlog);
    } else {
      raw = raw_stream_rate(eventd.port(), backlog);
      s = subscriber_rate(eventd.url(), backlog);
    }
    std::printf("round %d: EventSubscriberClient %.0f events/s, raw stream reader %.0f events/s, ratio %.3f\n", r + 1,
                s, raw, s / raw);
    sub_rates.push_back(s);
    raw_rates.push_back(raw);
    sub_ratio.push_back(s / raw);
  }
  auto spread = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return std::make_pair(v.front(), v.back());
  };
  const auto [pr_lo, pr_hi] = spread(publish_ratio);
  const auto [sr_lo, sr_hi] = spread(sub_ratio);
  std::printf(
      "\nMedian of %d rounds (ratios taken within a round; spread of the ratio %.3f..%.3f publishing, "
      "%.3f..%.3f streaming).\n"
      "Publishing: 32 requests in flight, market-data body of %zu bytes, each answered once Redis has it.\n"
      "Streaming: %zu stored events read from the stream's start; the subscriber decodes every event.\n",
      rounds, pr_lo, pr_hi, sr_lo, sr_hi, kData.size(), backlog);

  std::vector<tradpal::bench::Figure> figures;
  figures.push_back({.name = "client_publish_32_in_flight",
                     .value = median(client_rates),
                     .unit = "publishes/s",
                     .baseline = "wrk -t2 -c32 POST /events",
                     // So that the reported ratio is the median of the rounds' ratios
                     // (each taken within its round), not a ratio of medians.
                     .baseline_value = median(client_rates) / median(publish_ratio),
                     .target = ">= 0.5x",
                     .target_ratio = 0.5});
  figures.push_back({.name = "subscriber_events_per_s",
                     .value = median(sub_rates),
                     .unit = "events/s",
                     .baseline = "raw socket counting the same stream",
                     .baseline_value = median(sub_rates) / median(sub_ratio),
                     .target = ">= 100000 events/s"});
  std::printf("subscriber absolute target >= 100000 events/s: %s\n",
              median(sub_rates) >= 100000 ? "met" : "MISSED");
  return tradpal::bench::report("client_bench", figures);
}
