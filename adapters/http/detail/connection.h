// adapters/http/detail/connection.h
//
// Connection: one accepted TCP connection: reads and parses requests
// (http_parser), queues them in arrival order, writes their answers strictly
// in that order whenever handlers complete, enforces the limits and timeouts
// of ServerConfig, and closes gracefully (flush, FIN, drain the client's
// unread bytes) or at once. Loop thread only. Owned by the Server; freed in
// the close callback of its last libuv handle, never earlier.
#pragma once

#include <http_parser.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/http/event_stream.h"
#include "adapters/http/request.h"
#include "adapters/http/response.h"
#include "adapters/http/detail/exchange.h"
#include "adapters/http/detail/framing_check.h"

namespace tradpal::http {
class Server;
}

namespace tradpal::http::detail {

class Connection {
 public:
  // `reject`: the server is over max_connections; the connection only gets
  // a 503 and is closed.
  Connection(Server& server, bool reject);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uv_tcp_t* tcp() noexcept { return &tcp_; }
  [[nodiscard]] bool rejecting() const noexcept { return reject_; }

  // After uv_accept succeeded: start reading and timing.
  void start();
  // Server shutdown: answer what is queued with Connection: close, end
  // streams, take no new request, then close.
  void drain();
  // Closes now: pending writes are cancelled, every Exchange is detached.
  void close_now() noexcept;

  // The Exchange side, used by Responder and EventStream.
  void answer(Exchange& exchange, Response&& response);
  void start_stream(Exchange& exchange, Response&& head);
  [[nodiscard]] StreamWrite stream_write(Exchange& exchange, std::string_view bytes);
  void finish_stream(Exchange& exchange);
  [[nodiscard]] std::size_t unsent_bytes(const Exchange& exchange) const noexcept;
  // How long output has been waiting with none of it taken by the client
  // (0 when nothing waits): a client that stopped reading.
  [[nodiscard]] std::uint64_t output_stalled_ms() const noexcept;
  // Writes what was gathered while the server was corked.
  void flush_corked() noexcept;
  void count_dropped_responder() noexcept;

 private:
  [[nodiscard]] const char* framing_fields_refused(const Request& request) const noexcept;
  static const http_parser_settings kSettings;
  static int on_message_begin(http_parser* p) noexcept;
  static int on_url(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_header_field(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_header_value(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_headers_complete(http_parser* p) noexcept;
  static int on_body(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_message_complete(http_parser* p) noexcept;

  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_write(uv_write_t* req, int status) noexcept;
  static void on_shutdown(uv_shutdown_t* req, int status) noexcept;
  static void on_timer(uv_timer_t* timer) noexcept;
  static void on_handle_closed(uv_handle_t* handle) noexcept;

  int headers_complete();
  int refuse_oversized_headers() noexcept;
  int message_complete();
  void parse_backlog();
  void fail(int status, std::string_view detail);
  void pump(bool resume_parsing);
  void write_bytes(std::string bytes);
  void write_now(std::string bytes);
  // Output the client has not taken: gathered, queued in libuv, not sent.
  [[nodiscard]] std::size_t unsent_total() const noexcept;
  void fail_soon() noexcept;
  void schedule_resume() noexcept;
  void close_after_flush();
  // Starts the closing handshake once a close waits and nothing is left to write.
  void shutdown_if_flushed();
  void start_shutdown();
  void arm_timer() noexcept;
  void update_reading() noexcept;
  void timed_out();
  std::string serialize_head(Exchange& exchange, Response& response, bool streaming);
  [[nodiscard]] std::uint64_t now() const noexcept;

  Server& server_;
  const bool reject_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_shutdown_t shutdown_req_{};
  int closed_handles_ = 0;

  http_parser parser_{};
  FramingCheck framing_;  // what the parser may see (see framing_check.h)
  std::unique_ptr<char[]> read_buffer_;
  std::string backlog_;          // received bytes the parser has not consumed yet
  Request request_;              // the request being parsed
  std::size_t header_bytes_ = 0;
  bool last_was_value_ = false;
  int error_status_ = 0;         // set by a callback that refused the request
  std::string_view error_detail_;

  std::deque<std::shared_ptr<Exchange>> queue_;  // awaiting or being written, in order

  std::uint64_t last_activity_ = 0;
  std::uint64_t output_since_ = 0;  // loop ms: output started waiting, or last went out
  std::uint64_t message_started_ = 0;
  std::uint64_t linger_started_ = 0;
  std::size_t writes_in_flight_ = 0;
  std::string corked_out_;       // written while the server was corked
  bool in_cork_list_ = false;

  bool reading_ = false;
  bool parsing_ = false;
  bool in_message_ = false;      // between message begin and complete
  bool in_headers_ = false;      // between message begin and headers complete
  bool no_more_requests_ = false;
  bool draining_ = false;
  bool flush_then_close_ = false;
  bool shutdown_started_ = false;
  bool lingering_ = false;
  bool write_failed_ = false;
  bool resume_pending_ = false;  // the timer is due at once to parse the backlog
  bool closing_ = false;
};

}  // namespace tradpal::http::detail
