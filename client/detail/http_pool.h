// client/detail/http_pool.h
//
// HttpPool: the EventClient's I/O. One thread runs a libuv loop that keeps
// up to max_connections keep-alive connections to one service and pipelines
// up to max_pipeline requests on each, so many requests are in flight
// without a thread per request. Answers come back in order per connection.
//
// Retries never duplicate an effect: a request goes out again only when it
// never reached the server whole (its write had not completed when the
// connection failed: the server acts on complete requests only), or when it
// is idempotent (a GET) and the connection was lost before its answer.
// Every call gets exactly one `done`, on the pool's thread: a response (any
// status) or a ClientError. Its deadline covers queueing, connecting,
// retries and the answer.
//
// submit() may be called from any thread. The destructor fails what is
// still queued or in flight with ErrorKind::closed and joins the thread;
// `done` callbacks must not destroy the pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "client/client_error.h"
#include "client/detail/response_reader.h"
#include "client/service_url.h"

namespace tradpal::client::detail {

struct PoolOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::size_t max_connections = 4;
  std::size_t max_pipeline = 16;
  // Idle connections are closed before the server's idle timeout (eventd's
  // default is 5 s), so a request rarely meets a connection the server is
  // closing at that moment.
  std::chrono::milliseconds idle_close{2000};
  std::string authorization;  // the Authorization header's value, or empty
};

struct HttpCall {
  std::string method = "GET";
  std::string target;  // path and query; the URL's prefix is put in front
  std::string body;    // sent with Content-Type: application/json when a POST
  bool idempotent = true;
  std::chrono::milliseconds timeout{10000};
  // Exactly one of the two is non-null.
  std::function<void(HttpResponse*, const ClientError*)> done;
};

class HttpPool {
 public:
  HttpPool(ServiceUrl url, PoolOptions options);
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  void submit(HttpCall call);

  [[nodiscard]] const ServiceUrl& url() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tradpal::client::detail
