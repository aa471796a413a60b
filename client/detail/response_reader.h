// client/detail/response_reader.h
//
// ResponseReader: bytes from one connection → HTTP/1.1 responses, in order
// (pipelined answers come back-to-back). Wraps http-parser in response mode,
// so Content-Length, chunked and close-delimited bodies are all handled.
// A whole response is handed to `on_response`; with a body sink set, the
// body is handed over piece by piece as it arrives instead (a stream).
// One connection's thread only; not copyable (http-parser points back here).
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tradpal::client::detail {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // the Retry-After header, when present
  bool keep_alive = true;   // the connection may carry the next request
};

class ResponseReader {
 public:
  using OnResponse = std::function<void(HttpResponse&&)>;
  using OnHead = std::function<void(const HttpResponse&)>;  // status and headers, body still to come
  using BodySink = std::function<void(std::string_view)>;

  explicit ResponseReader(OnResponse on_response, OnHead on_head = {}, BodySink body_sink = {});
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  // Feeds bytes; callbacks run inside. false on malformed input (error()
  // says why); the connection must then be dropped.
  bool feed(const char* data, std::size_t size);
  // The peer closed: completes a close-delimited body. false when a
  // response was cut short.
  bool finish();
  // Between responses (nothing of the next one read yet).
  [[nodiscard]] bool idle() const noexcept { return !in_message_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  static int on_message_begin(http_parser* p);
  static int on_header_field(http_parser* p, const char* at, std::size_t len);
  static int on_header_value(http_parser* p, const char* at, std::size_t len);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, std::size_t len);
  static int on_message_complete(http_parser* p);
  void end_header();

  http_parser parser_{};
  http_parser_settings settings_{};
  OnResponse on_response_;
  OnHead on_head_;
  BodySink body_sink_;
  HttpResponse current_;
  std::string field_, value_;
  bool in_value_ = false;
  bool in_message_ = false;
  std::string error_;
};

}  // namespace tradpal::client::detail
