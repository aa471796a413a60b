// client/event_subscriber_client.h
//
// EventSubscriberClient: follows eventd's live stream (GET /events/stream,
// Server-Sent Events) and hands each event to the handlers registered for
// its type, in stream order, on the subscriber's own thread.
//
//   tradpal::client::EventSubscriberClient sub;     // EVENT_SERVICE_URL
//   sub.on(tradpal::EventType::trading_signal, [](const tradpal::client::StreamEvent& e) {
//     std::cout << e.message_id << ' ' << e.event.data << '\n';
//   });
//   sub.start();  ...  sub.stop();
//
// No loss, no event handled twice, across disconnects: the subscriber
// remembers the message id of the last event it handled and reconnects
// with it as Last-Event-ID; eventd reads the gap from Redis before going
// live again. An event whose id is not above the last handled one is never
// handed over. Against an eventd with partition streams the SSE id is a
// cursor, one stream id per partition (engine/stream_cursor.h): the
// subscriber keeps and resumes from that cursor the same way. A slow handler
// loses nothing either: eventd reads on from Redis for a subscriber that
// cannot keep up with the live events. What eventd says it could not send
// at all (`event: missed`: nothing the stream holds) is counted (missed()).
// A new subscriber without `from` starts at the stream's end when it
// first connects (eventd names that id), so a disconnect even before the
// first event loses nothing.
//
// Failures: a handler that throws is counted (handler_failures()), the first
// one printed on stderr, and the event counts as handled. A connection that
// fails or goes quiet for stall_timeout (eventd sends heartbeats) is retried
// with backoff; after give_up_after without a live stream (0: never) the
// subscriber stops: run() throws ClientError (unreachable or timed_out) and
// the state callback sees gave_up. A 4xx answer to the stream request (bad
// type, bad token) is not retried: run() throws ClientError(rejected).
//
// Threads and lifetimes: register handlers before start()/run(). start()
// runs the subscriber on a thread of its own, run() on the caller's; stop()
// may be called from any thread (a handler included) and returns at once;
// the destructor stops and joins.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client/client_error.h"
#include "client/service_url.h"
#include "engine/event.h"
#include "engine/event_type.h"
#include "engine/stream_cursor.h"
#include "engine/stream_id.h"

namespace tradpal::client {

struct SubscriberOptions {
  std::string url;    // empty: EVENT_SERVICE_URL, else http://localhost:8011
  std::string token;  // empty: EVENT_SERVICE_TOKEN, when set
  // Start after this message id (or cursor, for a partitioned eventd);
  // empty: the stream's end at first connect.
  std::string from;
  std::chrono::milliseconds connect_timeout{2000};
  // From the request to the answer's head: a server that accepts and never
  // answers counts as down after this long.
  std::chrono::milliseconds answer_timeout{10000};
  // A live stream silent this long is dropped and resumed (eventd's
  // heartbeat is 15 s by default).
  std::chrono::milliseconds stall_timeout{45000};
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{5000};
  std::chrono::milliseconds give_up_after{0};  // 0: retry for ever
};

// One event as a handler sees it; valid during the call only.
struct StreamEvent {
  const Event& event;           // event.stream_id: the message id (unpartitioned stream)
  std::string_view message_id;  // the SSE id (a cursor with partitions)
  std::string_view json;        // the wire JSON as eventd sent it
};

enum class StreamState { connecting, live, disconnected, gave_up, stopped };
[[nodiscard]] std::string_view to_string(StreamState s) noexcept;

class EventSubscriberClient {
 public:
  using Handler = std::function<void(const StreamEvent&)>;
  using StateHandler = std::function<void(StreamState, std::string_view detail)>;

  // Throws ClientError(usage) for a bad URL or a `from` that is not a stream id.
  explicit EventSubscriberClient(SubscriberOptions options = {});
  ~EventSubscriberClient();
  EventSubscriberClient(const EventSubscriberClient&) = delete;
  EventSubscriberClient& operator=(const EventSubscriberClient&) = delete;

  // Handlers for one type; with only these registered, the stream asks the
  // service for those types only.
  void on(EventType type, Handler handler);
  // A handler for every type (after the per-type ones of that type).
  void on_any(Handler handler);
  void on_state(StateHandler handler);

  void start();
  void run();
  void stop() noexcept;

  // The message id of the last event handled ("" before the first).
  [[nodiscard]] std::string last_id() const;
  [[nodiscard]] std::uint64_t handled() const noexcept { return handled_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t reconnects() const noexcept { return reconnects_.load(std::memory_order_relaxed); }
  // Events eventd said it could not send this subscriber (`event: missed`):
  // only what the stream does not hold (events /events/replay republished,
  // an event larger than eventd's per-stream limit); the stream's own events
  // eventd reads again from Redis for a slow subscriber, so none are lost.
  [[nodiscard]] std::uint64_t missed() const noexcept { return missed_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t handler_failures() const noexcept {
    return handler_failures_.load(std::memory_order_relaxed);
  }

 private:
  enum class Ended { stopped, dropped, rejected };
  Ended session(std::string& why, int& status, std::string& detail);
  void deliver(std::string_view id, std::string_view event_name, std::string_view data);
  void set_state(StreamState s, std::string_view detail);
  void wait_before_retry(std::chrono::milliseconds d);

  SubscriberOptions options_;
  ServiceUrl url_;
  std::vector<std::pair<EventType, Handler>> handlers_;
  std::vector<Handler> any_;
  StateHandler on_state_;
  std::thread thread_;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::optional<StreamCursor> last_;  // the cursor after the last event handled (or the start); guarded by mu_
  std::atomic<std::uint64_t> handled_{0}, reconnects_{0}, handler_failures_{0}, missed_{0};
  std::exception_ptr thread_error_;
};

}  // namespace tradpal::client
