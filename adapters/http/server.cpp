#include "adapters/http/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/http/cors.h"
#include "adapters/http/detail/connection.h"
#include "adapters/http/detail/exchange.h"

namespace tradpal::http {

namespace {

std::string uv_error(const char* what, const std::string& where, int code) {
  return std::string("http: ") + what + " " + where + ": " + uv_strerror(code);
}

}  // namespace

Server::Server(uv_loop_t* loop, ServerConfig config, Router router)
    : loop_(loop), config_(std::move(config)), router_(std::move(router)) {
  if (!config_.log) {
    config_.log = [](std::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  if (config_.max_pipelined == 0) config_.max_pipelined = 1;
  // A client that resets its connection while we write to it must cost an
  // EPIPE on that write, not the process: without this, the default
  // SIGPIPE disposition ends it. A disposition the program chose is kept.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
  int rc = uv_tcp_init(loop_, &listener_);
  if (rc != 0) throw std::runtime_error(uv_error("cannot create listener", config_.host, rc));
  listener_.data = this;
  ++open_handles_;
  rc = uv_async_init(loop_, &async_, &Server::on_async);
  if (rc == 0) {
    async_.data = this;
    ++open_handles_;
    rc = uv_timer_init(loop_, &deadline_timer_);
  }
  if (rc != 0) {
    // Close what was opened before reporting: the handles live in *this.
    shutdown(std::chrono::milliseconds(0));
    while (state_ != State::kClosed) uv_run(loop_, UV_RUN_ONCE);
    throw std::runtime_error(uv_error("cannot create handles for", config_.host, rc));
  }
  deadline_timer_.data = this;
  ++open_handles_;
}

Server::~Server() {
  if (state_ == State::kClosed) return;
  shutdown(std::chrono::milliseconds(0));
  std::vector<detail::Connection*> open;
  for (auto& [ptr, owned] : connections_) open.push_back(ptr);
  for (auto* c : open) c->close_now();
  while (state_ != State::kClosed) uv_run(loop_, UV_RUN_ONCE);
}

namespace {

// Descriptors kept for everything but client connections (Redis, the loop's
// own, logs) and for the connections answered 503 while over the limit.
constexpr std::size_t kReservedDescriptors = 128;

}  // namespace

void Server::fit_connections_to_descriptor_limit() {
  // Past the process's descriptor limit accept() fails, and libuv drops the
  // connection with no answer at all. So raise the soft limit toward the
  // hard one, and where even that is short, accept fewer connections: the
  // rest are answered 503 "Too many connections" like any over the limit.
  const std::size_t wanted = config_.max_connections + kReservedDescriptors;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min<rlim_t>(lim.rlim_max, wanted);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= wanted) return;
  const std::size_t fits = lim.rlim_cur > 2 * kReservedDescriptors ? lim.rlim_cur - kReservedDescriptors
                                                                     : std::max<std::size_t>(lim.rlim_cur / 2, 1);
  log("http: the descriptor limit (" + std::to_string(lim.rlim_cur) + ") allows " + std::to_string(fits) +
      " connections, not " + std::to_string(config_.max_connections) + ": max_connections lowered; raise 'ulimit -n'");
  config_.max_connections = fits;
}

void Server::listen() {
  if (state_ != State::kCreated) throw std::logic_error("http: listen() called twice or after shutdown");
  fit_connections_to_descriptor_limit();
  std::string host = config_.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  const std::string where = config_.host + ":" + std::to_string(config_.port);

  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), config_.port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), config_.port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    throw std::runtime_error("http: cannot listen on " + where + ": not an IP address or localhost");
  }
  int rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), config_.listen_backlog, &Server::on_connection);
  if (rc != 0) throw std::runtime_error(uv_error("cannot listen on", where, rc));

  sockaddr_storage bound{};
  int len = sizeof bound;
  if (uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    bound_port_ = bound.ss_family == AF_INET6
                      ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                      : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  state_ = State::kListening;
  log("http: listening on " + config_.host + ":" + std::to_string(bound_port_));
}

void Server::on_connection(uv_stream_t* listener, int status) noexcept {
  auto* server = static_cast<Server*>(listener->data);
  if (status < 0) {
    // Out of descriptors this repeats per connection: the first and then
    // every 1,000th are logged, every one counted.
    if (server->stats_.accept_errors++ % 1000 == 0) {
      server->log(std::string("http: accept failed: ") + uv_strerror(status) + " (" +
                  std::to_string(server->stats_.accept_errors) + " so far)");
    }
    return;
  }
  try {
    server->accept_one();
  } catch (const std::exception& e) {
    server->log(std::string("http: accept failed: ") + e.what());
  } catch (...) {
    server->log("http: accept failed");
  }
}

void Server::accept_one() {
  if (state_ != State::kListening) return;
  const bool reject = stats_.connections_open >= config_.max_connections;
  auto owned = std::make_unique<detail::Connection>(*this, reject);
  detail::Connection* connection = owned.get();
  connections_.emplace(connection, std::move(owned));
  if (!reject) ++stats_.connections_open;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(connection->tcp())) != 0) {
    connection->close_now();
    return;
  }
  if (reject) {
    ++stats_.connections_rejected;
  } else {
    ++stats_.connections_accepted;
  }
  connection->start();
}

void Server::dispatch(const std::shared_ptr<detail::Exchange>& exchange, Request request) {
  if (is_cors_preflight(config_.cors, request.method, request.headers)) {
    exchange->route_label = kUnmatchedRoute;
    Responder(exchange).send(cors_preflight_response(config_.cors, request.headers));
    return;
  }
  Router::Match match = router_.match(request.method, request.path);
  exchange->route_label = match.handler != nullptr ? match.route : kUnmatchedRoute;
  if (match.handler == nullptr) {
    if (match.status == 405) {
      Response r = Response::error(405, "Method Not Allowed");
      r.headers.emplace_back("Allow", std::move(match.allow));
      Responder(exchange).send(std::move(r));
    } else {
      Responder(exchange).send(Response::error(404, "Not Found"));
    }
    return;
  }
  // The edge where handler code meets a C callback: nothing may pass.
  // The Responder given to the handler answers 500 if unwinding drops it.
  try {
    (*match.handler)(std::move(request), Responder(exchange));
  } catch (const std::exception& e) {
    ++stats_.handler_exceptions;
    log(std::string("http: handler for ") + std::string(match.route) + " threw: " + e.what());
  } catch (...) {
    ++stats_.handler_exceptions;
    log(std::string("http: handler for ") + std::string(match.route) + " threw");
  }
}

void Server::shutdown(std::chrono::milliseconds grace, std::function<void()> on_closed) {
  if (on_closed) on_closed_ = std::move(on_closed);
  if (state_ == State::kDraining || state_ == State::kClosing || state_ == State::kClosed) return;
  state_ = State::kDraining;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &Server::on_handle_closed);
  std::vector<detail::Connection*> open;
  for (auto& [ptr, owned] : connections_) open.push_back(ptr);
  for (auto* c : open) c->drain();
  uv_timer_start(&deadline_timer_, &Server::on_deadline, static_cast<std::uint64_t>(grace.count()), 0);
  maybe_finish();
}

void Server::on_deadline(uv_timer_t* timer) noexcept {
  auto* server = static_cast<Server*>(timer->data);
  std::vector<detail::Connection*> open;
  try {
    for (auto& [ptr, owned] : server->connections_) open.push_back(ptr);
  } catch (...) {
  }
  if (!open.empty()) server->log("http: shutdown grace period over, closing " + std::to_string(open.size()) + " connections");
  for (auto* c : open) c->close_now();
}

void Server::forget(detail::Connection* connection) noexcept {
  connections_.erase(connection);
  maybe_finish();
}

void Server::maybe_finish() noexcept {
  if (state_ != State::kDraining || !listener_closed_ || !connections_.empty()) return;
  state_ = State::kClosing;
  uv_close(reinterpret_cast<uv_handle_t*>(&deadline_timer_), &Server::on_handle_closed);
  {
    std::unique_lock lock(post_mutex_);
    async_closed_ = true;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), &Server::on_handle_closed);
}

void Server::on_handle_closed(uv_handle_t* handle) noexcept {
  auto* server = static_cast<Server*>(handle->data);
  if (handle == reinterpret_cast<uv_handle_t*>(&server->listener_)) {
    server->listener_closed_ = true;
    --server->open_handles_;
    server->maybe_finish();
    return;
  }
  if (--server->open_handles_ > 0) return;
  // Tasks posted before the wake-up handle closed still run, so whatever
  // they own (Responders of closed connections, say) dies on this thread.
  server->run_tasks();
  server->state_ = State::kClosed;
  auto callback = std::move(server->on_closed_);
  server->on_closed_ = nullptr;
  if (callback) {
    try {
      callback();
    } catch (const std::exception& e) {
      server->log(std::string("http: shutdown callback threw: ") + e.what());
    } catch (...) {
      server->log("http: shutdown callback threw");
    }
  }
}

bool Server::post(Task task) {
  std::shared_lock lock(post_mutex_);
  if (async_closed_) return false;
  tasks_.enqueue(std::move(task));
  uv_async_send(&async_);
  return true;
}

void Server::on_async(uv_async_t* handle) noexcept {
  static_cast<Server*>(handle->data)->run_tasks();
}

void Server::uncork() noexcept {
  if (--cork_depth_ > 0) return;
  // A flush may run handlers' callbacks that cork again: take the list first.
  std::vector<detail::Connection*> corked;
  corked.swap(corked_);
  for (detail::Connection* c : corked) {
    // Only connections still alive: one may have closed while corked.
    if (connections_.contains(c)) c->flush_corked();
  }
}

// uv_async_send coalesces wake-ups, so each wake-up drains the whole queue.
// The tasks run corked: acknowledgements of a whole burst reach each
// connection as one write.
void Server::run_tasks() noexcept {
  const Corked corked(*this);
  Task task;
  while (tasks_.try_dequeue(task)) {
    try {
      task();
    } catch (const std::exception& e) {
      log(std::string("http: posted task threw: ") + e.what());
    } catch (...) {
      log("http: posted task threw");
    }
    task = Task();
  }
}

void Server::log(std::string_view line) noexcept {
  try {
    config_.log(line);
  } catch (...) {
  }
}

}  // namespace tradpal::http
