// adapters/http/server.h
//
// Server: an HTTP/1.1 server on a libuv loop the caller owns (eventd shares
// it with the Redis adapter). Construct, listen(), run the loop; shutdown()
// stops accepting, lets in-flight requests finish within a grace period, then
// closes every handle and calls back. All members are loop-thread only except
// post(), which any thread may call to run a Task on the loop thread.
//
//   uv_loop_t loop; uv_loop_init(&loop);
//   Router router;
//   router.get("/health", [](Request, Responder r) { r.send_json(200, "{}"); });
//   Server server(&loop, ServerConfig{.port = 8011}, std::move(router));
//   server.listen();                         // throws on bind/listen errors
//   ... uv_run(&loop, UV_RUN_DEFAULT) ...    // on SIGTERM:
//   server.shutdown(std::chrono::seconds(5), [] { /* all handles closed */ });
//
// Lifetime: the Server's handles live inside it, so it must be destroyed only
// after the shutdown callback has run, or while the loop is not running (the
// destructor then closes everything and runs the loop until the handles are
// closed). post() must not race with destruction.
//
// Constructing a Server sets SIGPIPE to ignored when it still has its
// default disposition, so a client that resets its connection mid-write
// costs that connection, not the process.
#pragma once

#include <uv.h>

#include <chrono>
#include <concurrentqueue/concurrentqueue.h>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "adapters/http/request_counters.h"
#include "adapters/http/router.h"
#include "adapters/http/server_config.h"
#include "adapters/http/task.h"

namespace tradpal::http {

namespace detail {
class Connection;
struct Exchange;
}  // namespace detail

struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_rejected = 0;  // over max_connections: answered 503
  std::uint64_t accept_errors = 0;         // accept() failed (out of descriptors): dropped unanswered
  std::uint64_t connections_open = 0;      // accepted and not yet closed, rejected ones excluded
  std::uint64_t requests = 0;              // complete requests handed to dispatch
  std::uint64_t bad_requests = 0;          // 400, 411, 413, 414, 431 answered by the server
  std::uint64_t timeouts = 0;              // idle or header-read timeouts that closed a connection
  std::uint64_t handler_exceptions = 0;    // caught at the dispatch edge, answered 500
  std::uint64_t responders_dropped = 0;    // destroyed unanswered, answered 500
  std::uint64_t streams_open = 0;
};

class Server {
 public:
  // Loop thread, or any thread before the loop runs. Initialises handles;
  // throws std::runtime_error if libuv refuses.
  Server(uv_loop_t* loop, ServerConfig config, Router router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; throws std::runtime_error naming the address and the
  // libuv error (bad host, port in use, ...).
  void listen();

  // The bound port (the ephemeral one when ServerConfig::port was 0).
  [[nodiscard]] std::uint16_t port() const noexcept { return bound_port_; }

  // Stops accepting, closes idle connections, lets queued requests be
  // answered (with Connection: close) and ends open streams (their on_close
  // runs). Connections still busy after `grace` are closed. When every handle
  // is closed, tasks still queued by post() run, then `on_closed`. Calling it
  // again only replaces a callback that has not run yet.
  void shutdown(std::chrono::milliseconds grace, std::function<void()> on_closed = {});

  // Any thread. Runs `task` on the loop thread, tasks of one thread in the
  // order posted. Returns false (and drops the task on the calling thread)
  // once shutdown has closed the wake-up handle.
  bool post(Task task);

  // Loop thread. While corked, what connections write is gathered per
  // connection and written when the outermost uncork() comes: one write
  // per connection for a burst of answers instead of one per answer.
  // Posted tasks and each read's handlers run corked. Cork nests.
  void cork() noexcept { ++cork_depth_; }
  void uncork() noexcept;
  // cork() for the life of a scope.
  class Corked {
   public:
    explicit Corked(Server& server) noexcept : server_(server) { server_.cork(); }
    ~Corked() { server_.uncork(); }
    Corked(const Corked&) = delete;
    Corked& operator=(const Corked&) = delete;

   private:
    Server& server_;
  };

  [[nodiscard]] bool closed() const noexcept { return state_ == State::kClosed; }
  [[nodiscard]] const ServerStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const RequestCounters& request_counters() const noexcept { return counters_; }
  [[nodiscard]] const ServerConfig& config() const noexcept { return config_; }

 private:
  friend class detail::Connection;
  enum class State : std::uint8_t { kCreated, kListening, kDraining, kClosing, kClosed };

  static void on_connection(uv_stream_t* listener, int status) noexcept;
  static void on_async(uv_async_t* handle) noexcept;
  static void on_deadline(uv_timer_t* timer) noexcept;
  static void on_handle_closed(uv_handle_t* handle) noexcept;

  void accept_one();
  void fit_connections_to_descriptor_limit();
  void dispatch(const std::shared_ptr<detail::Exchange>& exchange, Request request);
  void forget(detail::Connection* connection) noexcept;
  void maybe_finish() noexcept;
  void run_tasks() noexcept;
  [[nodiscard]] bool corked() const noexcept { return cork_depth_ > 0; }
  void log(std::string_view line) noexcept;

  uv_loop_t* loop_;
  ServerConfig config_;
  Router router_;
  State state_ = State::kCreated;
  std::uint16_t bound_port_ = 0;

  uv_tcp_t listener_{};
  uv_async_t async_{};
  uv_timer_t deadline_timer_{};
  int open_handles_ = 0;
  bool listener_closed_ = false;

  std::unordered_map<detail::Connection*, std::unique_ptr<detail::Connection>> connections_;
  int cork_depth_ = 0;
  std::vector<detail::Connection*> corked_;  // connections holding gathered output
  std::function<void()> on_closed_;

  // Posters hold the lock shared while they enqueue and wake the loop; the
  // loop takes it exclusively to mark the async handle closed, so no
  // uv_async_send can reach a closed handle.
  std::shared_mutex post_mutex_;
  bool async_closed_ = false;
  moodycamel::ConcurrentQueue<Task> tasks_;

  ServerStats stats_;
  RequestCounters counters_;
};

}  // namespace tradpal::http
