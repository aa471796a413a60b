#include "client/event_subscriber_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "client/detail/answers.h"
#include "client/detail/response_reader.h"
#include "client/detail/sse_reader.h"
#include "engine/event_json.h"
#include "engine/stream_id.h"

namespace tradpal::client {

std::string_view to_string(StreamState s) noexcept {
  switch (s) {
    case StreamState::connecting: return "connecting";
    case StreamState::live: return "live";
    case StreamState::disconnected: return "disconnected";
    case StreamState::gave_up: return "gave_up";
    case StreamState::stopped: return "stopped";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

EventSubscriberClient::EventSubscriberClient(SubscriberOptions options) : options_(std::move(options)) {
  url_ = ServiceUrl::resolve(options_.url, options_.token);
  if (!options_.from.empty()) {
    last_ = parse_stream_cursor(options_.from);
    if (!last_) {
      throw ClientError(ErrorKind::usage,
                        "not a stream id (<ms>-<seq>) or cursor (<id0>,<id1>,...): " + options_.from);
    }
  }
  if (::pipe2(stop_pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
    throw ClientError(ErrorKind::usage, std::string("cannot create the stop pipe: ") + std::strerror(errno));
  }
}

EventSubscriberClient::~EventSubscriberClient() {
  stop();
  if (thread_.joinable()) thread_.join();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void EventSubscriberClient::on(EventType type, Handler handler) { handlers_.emplace_back(type, std::move(handler)); }
void EventSubscriberClient::on_any(Handler handler) { any_.push_back(std::move(handler)); }
void EventSubscriberClient::on_state(StateHandler handler) { on_state_ = std::move(handler); }

std::string EventSubscriberClient::last_id() const {
  std::lock_guard lock(mu_);
  return last_ ? format_stream_cursor(*last_) : std::string();
}

void EventSubscriberClient::stop() noexcept {
  if (stopping_.exchange(true)) return;
  const char b = 1;
  (void)!::write(stop_pipe_[1], &b, 1);
}

void EventSubscriberClient::start() {
  thread_ = std::thread([this] {
    try {
      run();
    } catch (...) {
      thread_error_ = std::current_exception();  // reported through the state callback already
    }
  });
}

void EventSubscriberClient::set_state(StreamState s, std::string_view detail) {
  if (on_state_) on_state_(s, detail);
}

void EventSubscriberClient::wait_before_retry(std::chrono::milliseconds d) {
  pollfd p{stop_pipe_[0], POLLIN, 0};
  (void)::poll(&p, 1, static_cast<int>(d.count()));
}

void EventSubscriberClient::run() {
  std::chrono::milliseconds backoff = options_.retry_min;
  Clock::time_point down_since = Clock::now();
  bool first = true;
  while (!stopping_.load()) {
    if (!first) reconnects_.fetch_add(1, std::memory_order_relaxed);
    first = false;
    set_state(StreamState::connecting, url_.authority());
    std::string why, detail;
    int status = 0;
    const Clock::time_point began = Clock::now();
    const Ended ended = session(why, status, detail);
    if (ended == Ended::stopped || stopping_.load()) break;
    if (ended == Ended::rejected) {
      set_state(StreamState::gave_up, why);
      throw ClientError(ErrorKind::rejected, why, status, detail, true);
    }
    set_state(StreamState::disconnected, why);
    // A session that got live resets the backoff and the give-up clock.
    if (status == 200) {
      backoff = options_.retry_min;
      down_since = began;
    }
    if (options_.give_up_after.count() > 0 && Clock::now() - down_since >= options_.give_up_after) {
      set_state(StreamState::gave_up, why);
      throw ClientError(status == 0 && why.find("timed out") != std::string::npos ? ErrorKind::timed_out
                                                                                  : ErrorKind::unreachable,
                        "gave up following the stream: " + why, status, detail, false);
    }
    wait_before_retry(backoff);
    backoff = std::min(options_.retry_max, backoff * 2);
  }
  set_state(StreamState::stopped, {});
}

// One connection: connect, ask for the stream, hand over events until it
// ends. `status` is the answer's status (0 when none came).
EventSubscriberClient::Ended EventSubscriberClient::session(std::string& why, int& status, std::string& detail) {
  // ---- connect ------------------------------------------------------------------
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(url_.host.c_str(), url_.port.c_str(), &hints, &res); rc != 0) {
    why = "cannot resolve " + url_.host + ": " + gai_strerror(rc);
    return Ended::dropped;
  }
  Fd sock;
  for (addrinfo* a = res; a != nullptr && sock.fd < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      why = "cannot connect to " + url_.authority() + ": " + std::strerror(errno);
      ::close(fd);
      continue;
    }
    pollfd p[2] = {{fd, POLLOUT, 0}, {stop_pipe_[0], POLLIN, 0}};
    const int n = ::poll(p, 2, static_cast<int>(options_.connect_timeout.count()));
    if (p[1].revents != 0) {
      ::close(fd);
      ::freeaddrinfo(res);
      return Ended::stopped;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (n == 0) {
      why = "connecting to " + url_.authority() + " timed out";
      ::close(fd);
      continue;
    }
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      why = "cannot connect to " + url_.authority() + ": " + std::strerror(err != 0 ? err : errno);
      ::close(fd);
      continue;
    }
    sock.fd = fd;
  }
  ::freeaddrinfo(res);
  if (sock.fd < 0) return Ended::dropped;

  // ---- the request ----------------------------------------------------------------
  std::string target = url_.prefix + "/events/stream";
  if (any_.empty() && !handlers_.empty()) {
    EventTypeSet seen;
    char sep = '?';
    for (const auto& [type, h] : handlers_) {
      if (seen.contains(type)) continue;
      seen.add(type);
      target += sep;
      target += "event_type=";
      target += to_string(type);
      sep = '&';
    }
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + url_.authority() +
                    "\r\nAccept: text/event-stream\r\nUser-Agent: tradpal-events-client\r\n";
  const std::string resume = last_id();
  if (!resume.empty()) req += "Last-Event-ID: " + resume + "\r\n";
  if (!options_.token.empty()) req += "Authorization: Bearer " + options_.token + "\r\n";
  req += "\r\n";
  for (std::size_t sent = 0; sent < req.size();) {
    const ssize_t n = ::send(sock.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{sock.fd, POLLOUT, 0};
      (void)::poll(&p, 1, 100);
      continue;
    }
    if (n <= 0) {
      why = "lost the connection to " + url_.authority() + " while asking for the stream";
      return Ended::dropped;
    }
    sent += static_cast<std::size_t>(n);
  }

  // ---- the answer ------------------------------------------------------------------
  bool ended = false, sse_broken = false;
  std::string error_body;
  detail::SseReader sse([&](const detail::SseMessage& m) {
    if (m.event == "missed") {
      // eventd reads whatever the stream holds again for a slow subscriber
      // itself; what it says it missed is not in the stream (events a
      // replay republished, one too large for a stream), so a reconnect
      // could not bring it back either. Counted; the stream goes on.
      missed_.fetch_add(detail::missed_count(m.data), std::memory_order_relaxed);
      return;
    }
    if (m.event == "error") {
      set_state(StreamState::live, "the service says: " + detail::error_detail(m.data));
      return;
    }
    if (!m.has_data) {
      // An id alone names where a new stream starts: resume after it.
      if (m.has_id) {
        auto start = parse_stream_cursor(m.id);
        std::lock_guard lock(mu_);
        if (!last_) last_ = std::move(start);
      }
      return;
    }
    deliver(m.id, m.event, m.data);
  });
  detail::ResponseReader reader(
      [&](detail::HttpResponse&& r) {
        ended = true;
        if (r.status != 200) error_body = std::move(r.body);
      },
      [&](const detail::HttpResponse& head) {
        status = head.status;
        if (status == 200) set_state(StreamState::live, url_.authority());
      },
      [&](std::string_view piece) {
        if (status != 200) {
          if (error_body.size() < 64 * 1024) error_body.append(piece);
        } else if (!sse.feed(piece)) {
          sse_broken = true;
        }
      });
  char buf[64 * 1024];
  Clock::time_point last_byte = Clock::now();
  for (;;) {
    // Until the answer's head: answer_timeout from the request; then the
    // stall bound between any two bytes (heartbeats included).
    const bool head = status != 0;
    const auto bound = head ? options_.stall_timeout : options_.answer_timeout;
    const auto quiet = Clock::now() - last_byte;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(bound - quiet);
    if (left.count() <= 0) {
      why = (head ? "no byte from " : "no answer from ") + url_.authority() + " for " +
            std::to_string(bound.count()) + " ms (timed out)";
      return Ended::dropped;
    }
    pollfd p[2] = {{sock.fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    const int n = ::poll(p, 2, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) {
      why = std::string("poll failed: ") + std::strerror(errno);
      return Ended::dropped;
    }
    if (p[1].revents != 0 || stopping_.load()) return Ended::stopped;
    if (n <= 0 || p[0].revents == 0) continue;
    const ssize_t got = ::recv(sock.fd, buf, sizeof buf, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (got <= 0) {
      if (!reader.finish() || status == 0) {
        why = url_.authority() + " closed the connection";
      } else {
        why = url_.authority() + " ended the stream";
      }
      if (status != 0 && status != 200) break;
      return Ended::dropped;
    }
    last_byte = Clock::now();
    if (!reader.feed(buf, static_cast<std::size_t>(got))) {
      why = url_.authority() + " answered " + reader.error();
      return Ended::dropped;
    }
    if (sse_broken) {
      why = url_.authority() + " sent an SSE line longer than the bound";
      return Ended::dropped;
    }
    if (stopping_.load()) return Ended::stopped;
    if (ended) break;
  }
  if (status == 200) {
    why = url_.authority() + " ended the stream";
    return Ended::dropped;
  }
  detail = detail::error_detail(error_body);
  why = "GET /events/stream answered " + std::to_string(status) + (detail.empty() ? "" : ": " + detail);
  return status >= 400 && status < 500 && status != 408 && status != 429 ? Ended::rejected : Ended::dropped;
}

void EventSubscriberClient::deliver(std::string_view id, std::string_view event_name, std::string_view data) {
  if (!event_name.empty() && !parse_event_type(event_name)) return;  // not an event message
  // The id is a cursor: one stream id per partition of eventd's stream (a
  // plain id with one partition). An event is new when it moves the cursor.
  const auto cursor = parse_stream_cursor(id);
  {
    std::lock_guard lock(mu_);
    if (cursor && last_ && cursor_within(*cursor, *last_)) return;  // handled already
  }
  DecodeError err = DecodeError::none;
  auto event = decode_event_json(data, &err);
  if (!event) {
    handler_failures_.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "tradpal-events-client: skipped a stream event it cannot decode (%s) at id %.*s\n",
                 std::string(to_string(err)).c_str(), static_cast<int>(id.size()), id.data());
  } else {
    if (cursor && cursor->size() == 1) event->stream_id = cursor->front();
    const StreamEvent e{*event, id, data};
    auto call = [&](const Handler& h) {
      try {
        h(e);
      } catch (const std::exception& ex) {
        if (handler_failures_.fetch_add(1, std::memory_order_relaxed) == 0) {
          std::fprintf(stderr, "tradpal-events-client: a stream handler threw (counted; later ones are not printed): %s\n",
                       ex.what());
        }
      } catch (...) {
        if (handler_failures_.fetch_add(1, std::memory_order_relaxed) == 0) {
          std::fprintf(stderr, "tradpal-events-client: a stream handler threw (counted; later ones are not printed)\n");
        }
      }
    };
    for (const auto& [type, h] : handlers_) {
      if (type == event->type) call(h);
    }
    for (const Handler& h : any_) call(h);
    handled_.fetch_add(1, std::memory_order_relaxed);
  }
  if (cursor) {
    std::lock_guard lock(mu_);
    if (last_) {
      advance_cursor(*last_, *cursor);
    } else {
      last_ = cursor;
    }
  }
}

}  // namespace tradpal::client
