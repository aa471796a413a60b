// client/client_error.h
//
// ClientError: the one error type of the client library. Every call that
// fails throws it (the synchronous calls directly, the asynchronous ones
// through their std::future), with a kind a program can branch on and, when
// the server answered, its status and its FastAPI `detail` as text.
//
//   kind          what happened                                   evctl exit
//   usage         the caller's input was refused before sending    2
//   rejected      the server answered 4xx: fix the request          1
//   server        the server answered 5xx                          4
//   unreachable   no connection, or it was lost before an answer   3
//   timed_out     no answer within the request timeout             3
//   protocol      the answer was not HTTP or not the JSON expected 1
//   closed        the client was destroyed with the call pending   3
//
// `request_sent()` says whether the whole request had left this process:
// when false, the server cannot have acted on it (a publish did not
// happen); when true and the kind is unreachable or timed_out, a publish
// may or may not have happened. Value type; any thread.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace tradpal::client {

enum class ErrorKind { usage, rejected, server, unreachable, timed_out, protocol, closed };

[[nodiscard]] std::string_view to_string(ErrorKind kind) noexcept;

class ClientError : public std::runtime_error {
 public:
  ClientError(ErrorKind kind, std::string message, int status = 0, std::string detail = {},
              bool request_sent = false);

  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  [[nodiscard]] int status() const noexcept { return status_; }            // 0 without an answer
  [[nodiscard]] const std::string& detail() const noexcept { return detail_; }  // the server's detail
  [[nodiscard]] bool request_sent() const noexcept { return request_sent_; }

 private:
  ErrorKind kind_;
  int status_;
  std::string detail_;
  bool request_sent_;
};

}  // namespace tradpal::client
