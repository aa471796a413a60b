// adapters/http/responder.h
//
// Responder: the handle a handler gets to answer its request, now or later.
// Loop thread only (to answer from another thread, move it into a Task given
// to Server::post). Movable, not copyable; the first send() wins. If the
// client has gone meanwhile, sending does nothing. Destroying a Responder
// that never answered sends 500 so the connection's later answers are not
// held back forever.
//
//   router.get("/slow", [&](Request, Responder r) {
//     redis.get("k", [r = std::move(r)](Reply x) mutable {
//       r.send(Response::json(200, x.json()));
//     });
//   });
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "adapters/http/event_stream.h"
#include "adapters/http/response.h"

namespace tradpal::http {

namespace detail {
struct Exchange;
}

class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<detail::Exchange> exchange) noexcept;
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void send(Response response);
  void send_json(int status, std::string body) { send(Response::json(status, std::move(body))); }
  void send_error(int status, std::string_view detail) { send(Response::error(status, detail)); }

  // Starts a streaming response from `head` (its body is ignored).
  // Content-Type defaults to text/event-stream and Cache-Control to
  // no-cache. HTTP/1.1 clients get chunked framing and may send more
  // requests after the stream finishes; HTTP/1.0 clients get the raw bytes
  // and Connection: close. Returns a closed stream if the client has gone.
  [[nodiscard]] EventStream start_stream(Response head = {});

  // True until the answer was sent or handed over.
  [[nodiscard]] bool pending() const noexcept;
  // True while the client is still connected and waiting for this answer.
  [[nodiscard]] bool connected() const noexcept;

 private:
  void abandon() noexcept;
  std::shared_ptr<detail::Exchange> exchange_;
};

}  // namespace tradpal::http
