// tests/adapters/http/http_test_support.h
//
// Test harness for the HTTP server: ServerThread runs a Server on its own
// loop thread (bound to 127.0.0.1 on an ephemeral port) and lets the test
// thread run code on that loop; TestClient is a blocking socket client with
// deadlines that parses answers with http_parser. Test code only.
#pragma once

#include <arpa/inet.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "adapters/http/server.h"

namespace tradpal::http::test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Polls `condition` until it holds or `timeout` passes.
template <typename F>
bool wait_for(F&& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

class ServerThread {
 public:
  explicit ServerThread(Router router, ServerConfig config = {}) {
    uv_loop_init(&loop_);
    config.host = "127.0.0.1";
    config.port = 0;
    if (!config.log) config.log = [](std::string_view) {};
    server_ = std::make_unique<Server>(&loop_, std::move(config), std::move(router));
    server_->listen();
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }

  ~ServerThread() {
    if (thread_.joinable()) shutdown(0ms);
    server_.reset();
    uv_loop_close(&loop_);
  }

  Server& server() { return *server_; }
  std::uint16_t port() const { return server_->port(); }

  // Runs `f` on the loop thread and returns its result.
  template <typename F>
  auto run(F f) -> decltype(f()) {
    using R = decltype(f());
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    const bool posted = server_->post([promise, f = std::move(f)]() mutable {
      if constexpr (std::is_void_v<R>) {
        f();
        promise->set_value();
      } else {
        promise->set_value(f());
      }
    });
    if (!posted) throw std::runtime_error("server no longer takes tasks");
    if (future.wait_for(10s) != std::future_status::ready) throw std::runtime_error("loop thread did not run the task");
    return future.get();
  }

  ServerStats stats() {
    return run([this] { return server_->stats(); });
  }

  // Starts a graceful shutdown; returns a future that becomes ready when
  // every handle is closed.
  std::shared_future<void> begin_shutdown(std::chrono::milliseconds grace) {
    auto done = std::make_shared<std::promise<void>>();
    std::shared_future<void> future = done->get_future().share();
    run([this, grace, done] { server_->shutdown(grace, [done] { done->set_value(); }); });
    return future;
  }

  // Shuts down and joins the loop thread; true if everything closed in time.
  bool shutdown(std::chrono::milliseconds grace) {
    auto closed = begin_shutdown(grace);
    const bool ok = closed.wait_for(10s) == std::future_status::ready;
    if (ok) thread_.join();
    return ok;
  }

  bool join(std::chrono::milliseconds timeout) {
    if (!wait_for([this] { return server_->closed(); }, timeout)) return false;
    thread_.join();
    return true;
  }

 private:
  uv_loop_t loop_{};
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

struct ClientResponse {
  int status = 0;
  unsigned http_minor = 1;
  HeaderList headers;
  std::string body;
  bool keep_alive = true;

  std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
  // How many times a field occurs (case-insensitive name).
  std::size_t header_count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& [field, value] : headers) n += iequals(field, name) ? 1 : 0;
    return n;
  }
};

class TestClient {
 public:
  explicit TestClient(std::uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~TestClient() { close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads more bytes into the buffer; false on EOF, error or timeout.
  bool read_more(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // Reads until the raw received bytes contain `needle`.
  bool read_until_contains(std::string_view needle, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    while (buffer_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms || !read_more(left)) return buffer_.find(needle) != std::string::npos;
    }
    return true;
  }

  // True when the server closes the connection within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    while (!eof_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) eof_ = true;
      else buffer_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  // Parses the next whole answer; nullopt if none arrives in time.
  std::optional<ClientResponse> read_response(std::chrono::milliseconds timeout = 5s, bool head_request = false) {
    const auto deadline = Clock::now() + timeout;
    State state;
    state.head_request = head_request;
    http_parser parser;
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = &state;
    std::size_t offset = 0;
    while (true) {
      if (offset < buffer_.size()) {
        const std::size_t n = http_parser_execute(&parser, &settings(), buffer_.data() + offset, buffer_.size() - offset);
        offset += n;
        if (state.complete) {
          buffer_.erase(0, offset);
          state.response.http_minor = parser.http_minor;
          return std::move(state.response);
        }
        if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) return std::nullopt;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return std::nullopt;
      if (!read_more(left)) {
        if (eof_ && !state.complete) {
          // Answers framed by the end of the connection complete at EOF.
          http_parser_execute(&parser, &settings(), nullptr, 0);
          if (state.complete) {
            buffer_.clear();
            return std::move(state.response);
          }
        }
        return std::nullopt;
      }
    }
  }

  // Sends a request and reads its answer.
  std::optional<ClientResponse> request(std::string_view raw, std::chrono::milliseconds timeout = 5s) {
    if (!send(raw)) return std::nullopt;
    return read_response(timeout, raw.starts_with("HEAD "));
  }

  const std::string& buffer() const { return buffer_; }
  bool eof() const { return eof_; }

 private:
  struct State {
    ClientResponse response;
    bool last_was_value = false;
    bool head_request = false;
    bool complete = false;
  };
  static State& of(http_parser* p) { return *static_cast<State*>(p->data); }

  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings x{};
      x.on_header_field = [](http_parser* p, const char* at, std::size_t len) {
        State& s = of(p);
        if (s.last_was_value || s.response.headers.empty()) s.response.headers.emplace_back();
        s.last_was_value = false;
        s.response.headers.back().first.append(at, len);
        return 0;
      };
      x.on_header_value = [](http_parser* p, const char* at, std::size_t len) {
        State& s = of(p);
        s.last_was_value = true;
        s.response.headers.back().second.append(at, len);
        return 0;
      };
      x.on_headers_complete = [](http_parser* p) {
        State& s = of(p);
        s.response.status = static_cast<int>(p->status_code);
        s.response.keep_alive = http_should_keep_alive(p) != 0;
        return s.head_request ? 1 : 0;
      };
      x.on_body = [](http_parser* p, const char* at, std::size_t len) {
        of(p).response.body.append(at, len);
        return 0;
      };
      x.on_message_complete = [](http_parser* p) {
        of(p).complete = true;
        http_parser_pause(p, 1);
        return 0;
      };
      return x;
    }();
    return s;
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

inline std::string get(std::string_view target, std::string_view extra_headers = "") {
  std::string r = "GET ";
  r += target;
  r += " HTTP/1.1\r\nHost: test\r\n";
  r += extra_headers;
  r += "\r\n";
  return r;
}

inline std::string post(std::string_view target, std::string_view body, std::string_view extra_headers = "") {
  std::string r = "POST ";
  r += target;
  r += " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\n";
  r += extra_headers;
  r += "\r\n";
  r += body;
  return r;
}

}  // namespace tradpal::http::test
