// adapters/http/detail/exchange.h
//
// Exchange: one request's slot in its connection's answer queue, shared by
// the connection and the Responder / EventStream the handler holds. Loop
// thread only. `connection` is cleared when the connection closes, so a late
// answer finds nullptr and does nothing: this is the whole liveness check,
// and why handles hold the Exchange (not the Connection) by shared_ptr.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tradpal::http::detail {

class Connection;

struct Exchange {
  enum class State : std::uint8_t {
    kAwaiting,   // the handler has not answered yet
    kAnswered,   // a complete response is serialized (in `out` or written)
    kStreaming,  // a streaming response is open
    kFinished,   // the streaming response has ended
  };

  Connection* connection = nullptr;
  State state = State::kAwaiting;
  bool head_only = false;    // HEAD: write the head, never a body
  bool keep_alive = true;    // the client may send another request after this one
  bool http10 = false;
  bool chunked = false;      // a stream framed with Transfer-Encoding: chunked
  bool has_cookie = false;   // CORS with credentials echoes the origin then
  std::string origin;        // the request's Origin, empty when absent
  std::string_view method_label;
  std::string_view route_label;
  std::string out;           // serialized bytes not yet handed to the socket
  std::function<void()> on_stream_close;
};

}  // namespace tradpal::http::detail
