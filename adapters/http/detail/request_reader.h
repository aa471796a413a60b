// adapters/http/detail/request_reader.h
//
// RequestReader: the input side of one connection. It turns the bytes the
// client sent into Requests, one step at a time, and knows nothing of
// sockets, answers or time beyond the clock value it is handed.
//
//   append(bytes) ─► read(now) ─► kNeedInput   every byte so far is taken
//                              ─► kHeaders     a header section was accepted
//                                              (the request's body follows)
//                              ─► kRequest     a whole request: take_request()
//                              ─► kRefused     status() and detail() say why;
//                                              nothing more is read
//
// Every byte passes the RFC 9112 FramingCheck before http-parser sees it, at
// most one header section or one message at a time, and the parser stops
// after every message: so a request is handed out before the next one is
// even looked at, and no callback of the parser ever reaches a handler.
//
// The input bounds live here, each from ServerConfig:
//   request line + header fields   max_header_bytes (414 for the target
//                                  alone, else 431), max_header_count (431);
//                                  a chunked trailer counts against the same
//                                  budget and is never merged into the
//                                  headers
//   body                           max_body_bytes (413, before any body byte
//                                  when Content-Length says so); chunked only
//                                  when accept_chunked_bodies (else 411)
//   unparsed bytes                 whatever one read brought: the connection
//                                  appends only once the backlog is empty
//
// One per Connection, on its loop thread.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/http/request.h"
#include "adapters/http/server_config.h"
#include "adapters/http/detail/framing_check.h"

namespace tradpal::http::detail {

// How a complete request was framed, as the connection needs it to answer.
struct RequestFrame {
  std::string_view method;  // a static string from http-parser
  bool head_only = false;   // HEAD: the answer carries no body
  bool http10 = false;
  // False when the client asked to close, spoke HTTP/1.0 without keep-alive,
  // or sent Upgrade/CONNECT (what follows is another protocol): no request
  // may be read after this one.
  bool keep_alive = true;
};

class RequestReader {
 public:
  enum class Step : std::uint8_t { kNeedInput, kHeaders, kRequest, kRefused };
  // Where the reader is within the client's byte stream.
  enum class Phase : std::uint8_t {
    kBetween,  // no request begun
    kHeaders,  // a request begun, its header section not complete
    kBody,     // header section accepted, body not complete
  };

  explicit RequestReader(const ServerConfig& config);
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Bytes received. Throws std::bad_alloc.
  void append(std::string_view bytes);
  [[nodiscard]] bool has_input() const noexcept { return taken_ < backlog_.size(); }

  // Reads the input up to the next step. `now` (any monotonic clock in ms)
  // stamps when a request begins: began_at().
  [[nodiscard]] Step read(std::uint64_t now) noexcept;

  // Nothing more is read: the input is dropped, the phase is kBetween.
  void stop() noexcept;

  [[nodiscard]] Phase phase() const noexcept { return phase_; }
  // When the request in progress began (valid unless phase() is kBetween).
  [[nodiscard]] std::uint64_t began_at() const noexcept { return began_at_; }

  // After kHeaders or kRequest: the request read so far.
  [[nodiscard]] const Request& request() const noexcept { return request_; }
  // After kRequest.
  [[nodiscard]] const RequestFrame& frame() const noexcept { return frame_; }
  [[nodiscard]] Request take_request() noexcept { return std::move(request_); }
  // After kRefused: the status and detail of the answer the client gets.
  [[nodiscard]] int status() const noexcept { return error_status_; }
  [[nodiscard]] std::string_view detail() const noexcept { return error_detail_; }

 private:
  static const http_parser_settings kSettings;
  static int on_message_begin(http_parser* p) noexcept;
  static int on_url(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_header_field(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_header_value(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_headers_complete(http_parser* p) noexcept;
  static int on_body(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_message_complete(http_parser* p) noexcept;

  int headers_complete();
  int refuse(int status, std::string_view detail) noexcept;
  Step refused(int status, std::string_view detail) noexcept;

  const ServerConfig& config_;
  http_parser parser_{};
  FramingCheck framing_;     // what the parser may see (see framing_check.h)
  std::string backlog_;      // received bytes; those from taken_ on are not parsed yet
  std::size_t taken_ = 0;    // a read pipelining many requests is not moved once per request
  Phase phase_ = Phase::kBetween;
  bool stopped_ = false;
  bool headers_done_ = false;  // set by the parser's callback, reported as kHeaders
  bool last_was_value_ = false;
  std::uint64_t now_ = 0;
  std::uint64_t began_at_ = 0;
  std::size_t header_bytes_ = 0;
  Request request_;
  RequestFrame frame_;
  int error_status_ = 0;     // set by a callback that refused the request
  std::string_view error_detail_;
};

}  // namespace tradpal::http::detail
