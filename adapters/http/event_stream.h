// adapters/http/event_stream.h
//
// EventStream: an open streaming response (Server-Sent Events), obtained from
// Responder::start_stream. Loop thread only; movable. Writes never block: they
// queue, and report kOverLimit instead once the client's unsent output would
// pass ServerConfig::max_stream_unsent_bytes, so a slow client costs the
// caller a counted drop rather than unbounded memory. on_close tells the
// owner once when the client has gone or the server shuts the stream down.
//
//   EventStream s = responder.start_stream();
//   s.on_close([&] { subscribers.erase(id); });
//   if (s.send("{\"x\":1}", "market_data_update", "1795969636847-0") ==
//       StreamWrite::kOverLimit) ++dropped;
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tradpal::http {

namespace detail {
struct Exchange;
}

enum class StreamWrite : std::uint8_t {
  kQueued,      // handed to the connection, in order
  kClientGone,  // the client has gone, or the stream was finished: nothing written
  kOverLimit,   // too much unsent output already: nothing written, the stream stays open
};

class EventStream {
 public:
  EventStream() = default;
  explicit EventStream(std::shared_ptr<detail::Exchange> exchange) noexcept;
  EventStream(EventStream&&) noexcept = default;
  EventStream& operator=(EventStream&& other) noexcept;
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;
  // Finishes the stream (see finish()).
  ~EventStream();

  // Writes `bytes` as they are: the caller formats SSE itself.
  [[nodiscard]] StreamWrite write(std::string_view bytes);

  // Writes one SSE event: optional `id:` and `event:` lines, one `data:` line
  // per line of `data`, and the blank line that dispatches it.
  [[nodiscard]] StreamWrite send(std::string_view data, std::string_view event = {},
                                 std::string_view id = {});

  // Writes an SSE comment (`: text`), the usual heartbeat.
  [[nodiscard]] StreamWrite comment(std::string_view text);

  // `callback` runs once, on the loop thread, when the client has gone or
  // the server ended the stream at shutdown; never after finish(). It may
  // destroy this EventStream.
  void on_close(std::function<void()> callback);

  // Ends the response (the terminating chunk for chunked streams). The
  // connection then carries on with its next request, or closes.
  void finish() noexcept;
  // Drops the connection now, whatever it still holds unsent: for a client
  // that stopped reading (finish() would wait for it to read the rest).
  void abort() noexcept;

  [[nodiscard]] bool open() const noexcept;
  // Bytes written to this stream that the socket has not taken yet.
  [[nodiscard]] std::size_t unsent_bytes() const noexcept;
  // How long the connection's output has waited without the client taking
  // any of it; zero while nothing waits.
  [[nodiscard]] std::chrono::milliseconds stalled_for() const noexcept;

 private:
  std::shared_ptr<detail::Exchange> exchange_;
};

// One SSE event as text (what EventStream::send writes).
[[nodiscard]] std::string format_sse_event(std::string_view data, std::string_view event = {},
                                           std::string_view id = {});

}  // namespace tradpal::http
