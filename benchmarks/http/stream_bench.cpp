// benchmarks/http/stream_bench.cpp
//
// How fast an event reaches GET /events/stream, beside what Redis itself
// takes to carry an entry from a writer to a blocked reader, in the same
// run on the same redis-server (appendonly off):
//
//   post_to_sse   POST /events (keep-alive connections, steady rate) until
//                 the event arrives on 10 connected stream clients, at 1 k
//                 and 20 k events/s. Target p99 <= 2 ms and <= 5 ms.
//   xadd_to_sse   another writer's XADD (raw hiredis) until the event
//                 arrives on the stream clients, at 1 k/s. Target p99 <= 2 ms.
//   baseline      raw hiredis XADD -> XREAD BLOCK round trip at the same rate.
//
// Each event carries its send time (CLOCK_MONOTONIC ns) in its data; a
// receiver subtracts. Contenders alternate in rounds (TRADPAL_BENCH_ROUNDS,
// default 3); the figure is the median round, the spread is printed.
// TRADPAL_BENCH_SCALE scales the number of events (default 1: 3 s a run);
// TRADPAL_BENCH_ONLY=post_to_sse_1k|post_to_sse_20k|xadd_to_sse_1k runs one case.
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/support/report.h"
#include "redis_server.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kStreamClients = 10;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

double scale() {
  const char* s = std::getenv("TRADPAL_BENCH_SCALE");
  const double v = s != nullptr ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}

int rounds() {
  const char* s = std::getenv("TRADPAL_BENCH_ROUNDS");
  const int v = s != nullptr ? std::atoi(s) : 3;
  return v > 0 ? v : 3;
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    off += static_cast<std::size_t>(n);
  }
}

// A steady rate without a spinning sender (on two cores a spinning client
// would take a whole core from the server it measures): wake every 200 us
// and call send(first, count) for the events due by then. Each event's time
// stamp is taken when it is sent.
template <typename Send>
void paced(double rate, std::size_t n, Send send) {
  const auto start = Clock::now();
  std::size_t sent = 0;
  while (sent < n) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const std::size_t due = std::min(n, static_cast<std::size_t>(elapsed * rate) + 1);
    if (due > sent) {
      send(sent, due - sent);
      sent = due;
    }
  }
}

struct Latencies {
  std::vector<double> us;
  std::size_t expected = 0;
  double p50() const { return at(0.50); }
  double p99() const { return at(0.99); }
  double at(double q) const {
    if (us.empty()) return 0;
    std::vector<double> v = us;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  }
};

// ---- eventd as a process ---------------------------------------------------------

class Eventd {
 public:
  Eventd(const std::string& binary, int redis_port) {
    port_ = tradpal::testing::RedisServer::free_port();
    const std::string redis_url = "REDIS_URL=redis://127.0.0.1:" + std::to_string(redis_port);
    const std::string port = "EVENT_SERVICE_PORT=" + std::to_string(port_);
    std::vector<std::string> env = {redis_url, port};
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string bin = binary;
    char* argv[] = {bin.data(), nullptr};
    if (posix_spawn(&pid_, bin.c_str(), nullptr, nullptr, argv, envp.data()) != 0) {
      throw std::runtime_error("cannot start eventd at " + binary);
    }
    for (int i = 0; i < 500; ++i) {
      const int fd = connect_to(port_);
      if (fd >= 0) {
        send_all(fd, "GET /health HTTP/1.0\r\n\r\n");
        char buf[64] = {};
        const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        if (n > 0 && std::strstr(buf, " 200 ") != nullptr) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("eventd did not become healthy");
  }
  ~Eventd() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// ---- stream clients ------------------------------------------------------------------

// kStreamClients SSE connections read on one thread; every `"t": <ns>` in a
// data line becomes one latency sample.
class StreamClients {
 public:
  StreamClients(int port, const char* type) {
    for (int i = 0; i < kStreamClients; ++i) {
      const int fd = connect_to(port);
      if (fd < 0) throw std::runtime_error("cannot connect a stream client");
      send_all(fd, std::string("GET /events/stream?event_type=") + type + " HTTP/1.1\r\nHost: bench\r\n\r\n");
      fds_.push_back(fd);
    }
    bufs_.resize(fds_.size());
    thread_ = std::thread([this] { run(); });
    // Wait for every client's "connected" comment.
    while (connected_.load() < kStreamClients) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~StreamClients() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  std::size_t received() const { return received_.load(); }
  Latencies take(std::size_t expected) {
    std::lock_guard lock(mutex_);
    Latencies l;
    l.us.swap(samples_);
    l.expected = expected;
    return l;
  }

 private:
  void run() {
    std::vector<pollfd> p;
    for (int fd : fds_) p.push_back({fd, POLLIN, 0});
    std::vector<bool> seen_connect(fds_.size(), false);
    char chunk[65536];
    while (!stop_) {
      if (::poll(p.data(), p.size(), 20) <= 0) continue;
      const std::int64_t t = now_ns();
      for (std::size_t i = 0; i < p.size(); ++i) {
        if ((p[i].revents & POLLIN) == 0) continue;
        const ssize_t n = ::recv(p[i].fd, chunk, sizeof chunk, 0);
        if (n <= 0) continue;
        std::string& b = bufs_[i];
        b.append(chunk, static_cast<std::size_t>(n));
        if (!seen_connect[i] && b.find(": connected") != std::string::npos) {
          seen_connect[i] = true;
          connected_.fetch_add(1);
        }
        std::size_t pos = 0;
        for (;;) {
          const std::size_t at = b.find("\"t\": ", pos);
          if (at == std::string::npos) break;
          const std::size_t end = b.find_first_not_of("0123456789", at + 5);
          if (end == std::string::npos) break;
          const std::int64_t sent = std::strtoll(b.c_str() + at + 5, nullptr, 10);
          {
            std::lock_guard lock(mutex_);
            samples_.push_back(static_cast<double>(t - sent) / 1000.0);
          }
          received_.fetch_add(1);
          pos = end;
        }
        // Keep only what may hold an incomplete sample.
        const std::size_t keep = b.rfind('\n');
        if (keep != std::string::npos && keep + 1 >= pos) b.erase(0, keep + 1);
        else if (pos > 0) b.erase(0, pos);
      }
    }
  }

  std::vector<int> fds_;
  std::vector<std::string> bufs_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connected_{0};
  std::atomic<std::size_t> received_{0};
  std::mutex mutex_;
  std::vector<double> samples_;
};

// ---- the contenders --------------------------------------------------------------------

// POSTs `n` events at `rate` over 4 keep-alive connections; the answers are
// read (and checked) by one thread per connection.
Latencies post_to_sse(int port, double rate, std::size_t n) {
  StreamClients clients(port, "trading_signal");
  constexpr int kConnections = 4;
  std::vector<int> fds;
  std::vector<std::thread> readers;
  std::atomic<std::size_t> ok{0}, bad{0};
  for (int i = 0; i < kConnections; ++i) fds.push_back(connect_to(port));
  for (int fd : fds) {
    readers.emplace_back([fd, &ok, &bad, n] {
      std::string b;
      char chunk[65536];
      while (ok.load() + bad.load() < n) {
        const ssize_t r = ::recv(fd, chunk, sizeof chunk, 0);
        if (r <= 0) return;
        b.append(chunk, static_cast<std::size_t>(r));
        // One erase per read: erasing per answer would move the rest of a
        // large read once per answer, CPU the server under test needs.
        std::size_t from = 0, pos;
        while ((pos = b.find("HTTP/1.1 ", from)) != std::string::npos && b.size() >= pos + 12) {
          (b.compare(pos + 9, 3, "200") == 0 ? ok : bad).fetch_add(1);
          from = pos + 12;
        }
        b.erase(0, from);
      }
    });
  }
  std::vector<std::string> out(kConnections);
  paced(rate, n, [&](std::size_t first, std::size_t count) {
    for (std::size_t i = first; i < first + count; ++i) {
      const std::string body = "{\"event_type\": \"trading_signal\", \"data\": {\"t\": " + std::to_string(now_ns()) +
                               ", \"i\": " + std::to_string(i) + "}}";
      out[i % kConnections] += "POST /events HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    for (int c = 0; c < kConnections; ++c) {
      if (!out[c].empty()) send_all(fds[c], out[c]);
      out[c].clear();
    }
  });
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (clients.received() < n * kStreamClients && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (int fd : fds) ::shutdown(fd, SHUT_RDWR);
  for (auto& t : readers) t.join();
  for (int fd : fds) ::close(fd);
  if (bad.load() != 0) std::printf("  WARNING: %zu POSTs were not answered 200\n", bad.load());
  return clients.take(n * kStreamClients);
}

redisContext* redis_connect(int port) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err != 0) throw std::runtime_error("cannot connect to redis");
  return c;
}

std::string event_json(std::int64_t t, std::size_t i) {
  return "{\"event_type\": \"risk_alert\", \"event_id\": \"00000000-0000-4000-8000-000000000000\", "
         "\"timestamp\": \"2026-12-01T00:00:00.000000\", \"source\": \"writer\", \"data\": {\"t\": " +
         std::to_string(t) + ", \"i\": " + std::to_string(i) + "}, \"metadata\": {}}";
}

// The events due now as one pipelined burst of XADDs, as a writer would.
void xadd_pipelined(redisContext* w, const std::string& stream, std::size_t first, std::size_t count) {
  for (std::size_t i = first; i < first + count; ++i) {
    const std::string json = event_json(now_ns(), i);
    redisAppendCommand(w, "XADD %s * event %b", stream.c_str(), json.data(), json.size());
  }
  for (std::size_t i = 0; i < count; ++i) {
    void* r = nullptr;
    if (redisGetReply(w, &r) != REDIS_OK) break;
    freeReplyObject(r);
  }
}

// Another writer's XADDs at `rate` until they reach the stream clients.
Latencies xadd_to_sse(int eventd_port, int redis_port, double rate, std::size_t n) {
  StreamClients clients(eventd_port, "risk_alert");
  redisContext* w = redis_connect(redis_port);
  paced(rate, n, [&](std::size_t first, std::size_t count) { xadd_pipelined(w, "tradpal_events", first, count); });
  redisFree(w);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (clients.received() < n * kStreamClients && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return clients.take(n * kStreamClients);
}

// The floor: raw hiredis XADD -> XREAD BLOCK on the same server and rate.
Latencies raw_round_trip(int redis_port, double rate, std::size_t n) {
  const std::string stream = "bench_raw_" + std::to_string(now_ns());
  Latencies out;
  out.expected = n;
  std::mutex mutex;
  std::atomic<bool> ready{false};
  std::thread reader([&] {
    redisContext* r = redis_connect(redis_port);
    std::string last = "$";
    std::size_t got = 0;
    ready = true;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (got < n && Clock::now() < deadline) {
      auto* rep = static_cast<redisReply*>(
          redisCommand(r, "XREAD COUNT 1000 BLOCK 1000 STREAMS %s %s", stream.c_str(), last.c_str()));
      const std::int64_t t = now_ns();
      if (rep == nullptr) break;
      if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
        const redisReply* entries = rep->element[0]->element[1];
        for (std::size_t i = 0; i < entries->elements; ++i) {
          const redisReply* e = entries->element[i];
          last.assign(e->element[0]->str, e->element[0]->len);
          const std::string_view json(e->element[1]->element[1]->str, e->element[1]->element[1]->len);
          const std::size_t at = json.find("\"t\": ");
          const std::int64_t sent = std::strtoll(json.data() + at + 5, nullptr, 10);
          std::lock_guard lock(mutex);
          out.us.push_back(static_cast<double>(t - sent) / 1000.0);
          ++got;
        }
      }
      freeReplyObject(rep);
    }
    redisFree(r);
  });
  while (!ready) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the first XREAD is blocked by now
  redisContext* w = redis_connect(redis_port);
  paced(rate, n, [&](std::size_t first, std::size_t count) { xadd_pipelined(w, stream, first, count); });
  reader.join();
  redisFree(w);
  return out;
}

struct Round {
  Latencies ours, base;
  double ratio() const { return base.p99() > 0 ? ours.p99() / base.p99() : 0; }
};

// The round whose p99 ratio is the median; prints every round.
const Round& median_round(const std::string& what, std::vector<Round>& rs) {
  std::vector<std::size_t> order(rs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rs[a].ratio() < rs[b].ratio(); });
  for (std::size_t i = 0; i < rs.size(); ++i) {
    std::printf("  %-22s round %zu: p50 %8.1f us  p99 %8.1f us  (%zu/%zu received) | floor p50 %7.1f  p99 %7.1f us"
                "  ratio %.2f\n",
                what.c_str(), i + 1, rs[i].ours.p50(), rs[i].ours.p99(), rs[i].ours.us.size(), rs[i].ours.expected,
                rs[i].base.p50(), rs[i].base.p99(), rs[i].ratio());
  }
  std::printf("  %-22s p99 ratio spread %.2f .. %.2f\n", what.c_str(), rs[order.front()].ratio(),
              rs[order.back()].ratio());
  return rs[order[order.size() / 2]];
}

}  // namespace

int main(int argc, char** argv) {
  using tradpal::bench::Figure;
  const std::string eventd_bin = argc > 1 ? argv[1] : EVENTD_PATH;
  tradpal::testing::RedisServer server(tradpal::testing::RedisServer::Options{.appendonly = false});
  Eventd eventd(eventd_bin, server.port());
  std::vector<Figure> figures;
  const double s = scale();

  struct Case {
    std::string name;
    double rate;
    bool external;
    double target_ms;
  };
  const std::vector<Case> cases = {{"post_to_sse_1k", 1000, false, 2},
                                   {"post_to_sse_20k", 20000, false, 5},
                                   {"xadd_to_sse_1k", 1000, true, 2},
                                   {"xadd_to_sse_20k", 20000, true, 5}};
  const char* only = std::getenv("TRADPAL_BENCH_ONLY");
  for (const Case& c : cases) {
    if (only != nullptr && *only != '\0' && c.name != only) continue;
    const auto n = std::max<std::size_t>(200, static_cast<std::size_t>(c.rate * 3 * s));
    std::vector<Round> rs;
    for (int r = 0; r < rounds(); ++r) {
      Round round;
      // Alternate which contender goes first.
      if (r % 2 == 0) round.base = raw_round_trip(server.port(), c.rate, n);
      round.ours = c.external ? xadd_to_sse(eventd.port(), server.port(), c.rate, n)
                              : post_to_sse(eventd.port(), c.rate, n);
      if (r % 2 == 1) round.base = raw_round_trip(server.port(), c.rate, n);
      rs.push_back(std::move(round));
    }
    const Round& m = median_round(c.name, rs);
    const std::string base = "raw hiredis XADD -> XREAD BLOCK @" + std::to_string(static_cast<int>(c.rate)) + "/s";
    char target[32];
    std::snprintf(target, sizeof target, "p99 <= %g ms", c.target_ms);
    figures.push_back({"stream_" + c.name + "_p50", m.ours.p50(), "us", base, m.base.p50(), false});
    figures.push_back({"stream_" + c.name + "_p99", m.ours.p99(), "us", base, m.base.p99(), false, target});
    std::printf("%s: p99 %.0f us (target %s: %s), %zu of %zu deliveries\n", c.name.c_str(), m.ours.p99(), target,
                m.ours.p99() <= c.target_ms * 1000 ? "met" : "MISSED", m.ours.us.size(), m.ours.expected);
  }
  return tradpal::bench::report("stream_bench", figures);
}
