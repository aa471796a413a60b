// adapters/http/detail/connection.h
//
// Connection: one accepted TCP connection's life. Its RequestReader turns
// received bytes into requests; each request gets an Exchange in the answer
// queue and goes to the Server's dispatch; answers are written through its
// Output strictly in request order, whenever handlers complete. Loop thread
// only. Owned by the Server; freed in the close callback of its last libuv
// handle, never earlier.
//
// Its life is one explicit Phase:
//
//   kOpen ──► kFinishing ──► kFlushing ──► kShutdown ──► kLingering ──► kClosed
//     │            (no more requests:  (every answer   (FIN      (our FIN is out;
//     │             answering those     handed to the   requested) client bytes
//     │             queued)             socket)                   dropped)
//     └── any phase ──► kAborting (a write failed) ──► kClosed, next loop turn
//     └── any phase ──► kClosed   (client hung up, timeout, server closes now)
//
//   kOpen → kFinishing: a request that ends the connection (Connection:
//   close, HTTP/1.0, Upgrade), a request refused (4xx/5xx answer, then
//   close), a request timeout (408) or the server draining.
//
// One timer holds the deadline of the current phase, nothing else:
//   reading a header section   header_timeout from the request's first byte
//   reading a request          request_timeout from its first byte (408)
//   waiting for the client     idle_timeout since its last byte in or out
//   (between requests, for a body, to take our last answer)
//   waiting for a handler      none: the handler's business
//   kLingering                 linger_timeout
// Work that must not run inside the caller's frame (parsing requests that
// waited behind the pipeline limit, closing after a failed write) goes to a
// uv_idle handle that runs on the next loop turn.
//
// Bounds and their homes:
//   header section, body              RequestReader (see request_reader.h)
//   requests awaiting answers         max_pipelined: read_requests() stops
//   answers the client has not read   max_unsent_bytes: read_requests() stops
//                                     taking requests (those already read
//                                     wait unparsed) and update_reading()
//                                     stops reading the socket
//   a stream's unsent output          max_stream_unsent_bytes: stream_write()
//   a stream's stalled output         Output::stalled_ms(), enforced by the
//                                     stream's owner (output_stalled_ms())
//   time                              the deadlines above
#pragma once

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
#include "adapters/http/detail/output.h"
#include "adapters/http/detail/request_reader.h"

namespace tradpal::http {
class Server;
}

namespace tradpal::http::detail {

class Connection final : private Output::Listener {
 public:
  enum class Phase : std::uint8_t {
    kOpen,        // reading requests, answering them in order
    kFinishing,   // no request is read any more; answering those queued
    kFlushing,    // every answer handed to the socket; FIN once it is out
    kShutdown,    // FIN requested
    kLingering,   // FIN out: client bytes read and dropped until it closes
    kAborting,    // a write failed: closes on the next loop turn
    kClosed,      // handles closing; every Exchange detached
  };

  // `reject`: the server is over max_connections; the connection only gets
  // a 503 and is closed.
  Connection(Server& server, bool reject);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uv_tcp_t* tcp() noexcept { return &tcp_; }
  [[nodiscard]] bool rejecting() const noexcept { return reject_; }
  [[nodiscard]] Phase phase() const noexcept { return phase_; }

  // After uv_accept succeeded: start reading and timing.
  void start();
  // Server shutdown: answer what is queued (the last answer with
  // Connection: close), end streams, take no new request, then close.
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
  [[nodiscard]] std::uint64_t output_stalled_ms() const noexcept { return output_.stalled_ms(); }
  // Writes what was gathered while the server was corked.
  void flush_corked() noexcept;
  void count_dropped_responder() noexcept;

 private:
  enum class Deadline : std::uint8_t { kNone, kHeaders, kRequest, kIdle, kLinger };
  struct Due {
    Deadline kind = Deadline::kNone;
    std::uint64_t at = 0;
  };

  // Output::Listener
  void output_taken() noexcept override;
  void output_failed() noexcept override;

  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_shutdown(uv_shutdown_t* req, int status) noexcept;
  static void on_timer(uv_timer_t* timer) noexcept;
  static void on_soon(uv_idle_t* idle) noexcept;
  static void on_handle_closed(uv_handle_t* handle) noexcept;

  [[nodiscard]] bool answering() const noexcept { return phase_ == Phase::kOpen || phase_ == Phase::kFinishing; }

  // Input.
  void received(std::string_view bytes);
  void read_requests();
  void take_request();
  void update_reading() noexcept;
  void resume_if_room() noexcept;

  // Answers.
  void fail(int status, std::string_view detail);
  void pump(bool resume_reading);
  void send(std::string bytes);
  [[nodiscard]] std::string head_for(Exchange& exchange, Response& response, bool streaming);

  // Phase changes.
  void finish() noexcept;           // kOpen → kFinishing
  void begin_flush();               // → kFlushing
  void shutdown_if_flushed();       // kFlushing → kShutdown once the output is out
  void abort_soon() noexcept;       // → kAborting
  void run_soon() noexcept;
  // Tells a stream's owner it ended; what the callback throws is logged.
  void run_stream_close(std::function<void()> callback) noexcept;

  // Deadlines.
  [[nodiscard]] Due due() const noexcept;
  void arm_timer() noexcept;
  void timed_out(Deadline kind);
  [[nodiscard]] std::uint64_t now() const noexcept;

  Server& server_;
  const bool reject_;
  Phase phase_ = Phase::kOpen;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_idle_t soon_{};
  uv_shutdown_t shutdown_req_{};
  int closed_handles_ = 0;

  RequestReader reader_;
  Output output_;
  std::unique_ptr<char[]> read_buffer_;
  std::deque<std::shared_ptr<Exchange>> queue_;  // awaiting or being written, in order

  std::uint64_t last_activity_ = 0;  // loop ms: the client's last byte in, or our last out
  std::uint64_t linger_started_ = 0;
  bool reading_ = false;         // uv_read_start is on
  bool in_read_requests_ = false;  // read_requests() is on the stack
  bool resume_soon_ = false;     // read_requests() is due on the next loop turn
  bool in_cork_list_ = false;
};

}  // namespace tradpal::http::detail
