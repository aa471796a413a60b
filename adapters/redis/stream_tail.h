// adapters/redis/stream_tail.h
//
// StreamTail: follows one Redis stream as it grows and delivers every entry,
// whoever wrote it (a Python service, redis-cli, another eventd), in stream
// order with its stream id. Every process that tails sees every entry: this
// is fan-out, unlike a consumer group (RemoteSubscription), where each entry
// goes to one member.
//
//   ready ─► resolve the start: "$" becomes the id of the stream's last entry
//            (XREVRANGE + - COUNT 1), a time becomes the id just before it
//         ─► XREAD COUNT n BLOCK ms STREAMS <stream> <last delivered id>  (loop;
//            a full page sends the next XREAD before it is decoded)
//
// Runs on an IoThread's loop with a connection of its own (a blocking read
// must never hold up the persister's writes). Each entry is decoded in one
// validating pass (decode_entry_view: no copy); what is not a TradPal event
// is counted by kind in skips() and passed over, never fatal.
//
// Exactly once, in order: the position is the id of the last entry
// delivered, kept across reconnects. After a dropped connection or a Redis
// restart (with its append-only file) the next XREAD asks for what follows
// that id, so nothing is skipped and nothing repeated.
//
// Where entries go, in this order for each entry:
//   1. `bus` (optional): republished with origin remote and the entry's
//      stream id (EventView::stream_id()); the persister never writes them
//      back. When the bus is back-pressured (a gating subscriber is behind)
//      the tail stops at that entry and reads again from it shortly after;
//      nothing is dropped.
//   2. the handler (optional): the entry's id and decoded fields, valid only
//      during the call. A handler that throws is counted and logged once;
//      the entry still counts as delivered.
//   3. after each XREAD reply that delivered something, the batch callback
//      (optional): one call per burst, so a consumer can wake another thread
//      once per burst rather than once per entry.
// Handlers run on the I/O thread: keep them short, never block.
//
// Threads: construct, start and stop from any thread but the IoThread's;
// counters and position from any thread. Stop before the IoThread and the
// bus go away.
//
// Lifetimes: the IoThread must outlive the StreamTail (destroying it first
// aborts with a message, see IoThread::Lease), and so must the Bus it
// republishes into and its handlers' captures.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/redis/async_connection.h"
#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/io_thread.h"
#include "engine/bus.h"
#include "engine/stream_id.h"
#include "engine/timestamp.h"

namespace tradpal::redis {

// Where a tail begins.
class TailStart {
 public:
  // Only entries added after the tail first connects ("$", made concrete on
  // that first connect so a reconnect misses nothing).
  [[nodiscard]] static TailStart latest() noexcept { return TailStart(Kind::latest, {}, 0); }
  // Every entry in the stream.
  [[nodiscard]] static TailStart beginning() noexcept { return TailStart(Kind::after, {}, 0); }
  // Entries after `id` (exclusive), as Last-Event-ID.
  [[nodiscard]] static TailStart after(StreamId id) noexcept { return TailStart(Kind::after, id, 0); }
  // Entries at or after wall-clock time `t` (ids map to times as CONTRACT.md §1).
  [[nodiscard]] static TailStart at(TimestampNs t) noexcept { return TailStart(Kind::at_time, {}, t); }

  // The id after which reading begins, or std::nullopt for latest().
  [[nodiscard]] std::optional<StreamId> position() const noexcept;

 private:
  enum class Kind : std::uint8_t { latest, after, at_time };
  TailStart(Kind kind, StreamId id, TimestampNs t) noexcept : kind_(kind), id_(id), time_(t) {}
  Kind kind_;
  StreamId id_;
  TimestampNs time_;
};

struct StreamTailOptions {
  ConnectionOptions connection;
  std::string stream = "tradpal_events";
  TailStart start = TailStart::latest();
  std::size_t count = 1000;               // entries per XREAD
  std::chrono::milliseconds block{1000};  // XREAD BLOCK
  Bus* bus = nullptr;                     // republish here with origin remote
  // How long to wait before reading again when `bus` was back-pressured.
  std::chrono::milliseconds back_pressure_retry{1};
};

// One entry as a tail delivers it. Views valid only during the handler.
struct TailEntry {
  StreamId id;
  std::string_view id_text;  // as Redis wrote it
  const EventFields& event;  // decoded: source unescaped, data/metadata raw JSON
};

class StreamTail final : private ConnectionOwner {
 public:
  using Handler = std::function<void(const TailEntry&)>;
  using BatchDone = std::function<void(std::size_t delivered)>;

  // Throws ConfigError for an empty stream name, a zero count or a block
  // time under 1 ms.
  StreamTail(IoThread& io, StreamTailOptions options);
  ~StreamTail();
  StreamTail(const StreamTail&) = delete;
  StreamTail& operator=(const StreamTail&) = delete;

  // Before start().
  void on_entry(Handler handler) { handler_ = std::move(handler); }
  void on_batch(BatchDone done) { batch_done_ = std::move(done); }
  // Optional, before start(): asked on the I/O thread before each read.
  // While it answers false and no bus is fed, the tail reads nothing (the
  // reply already asked for is passed over undecoded): a service whose
  // readers come and go need not read the stream for nobody. Then call
  // restart_after() when someone is interested again.
  void set_interest(std::function<bool()> interested) { interested_ = std::move(interested); }
  // Any thread, before stop(): reads on after `id`, or from where the stream
  // ends now when there is none. What was read meanwhile from elsewhere is
  // dropped; entries between are not delivered unless `id` precedes them
  // (whoever needs them reads them from the stream, as SSE clients do).
  void restart_after(std::optional<StreamId> id);

  void start();
  // Closes the connection; no handler runs after it returns. Idempotent.
  void stop();

  // ---- any thread ---------------------------------------------------------
  [[nodiscard]] bool connected() const noexcept { return connection_ && connection_->connected(); }
  [[nodiscard]] std::string last_error() const { return connection_->last_error(); }
  // The id of the last entry delivered (or where reading starts, once known).
  [[nodiscard]] std::optional<StreamId> position() const;
  [[nodiscard]] std::uint64_t delivered() const noexcept { return delivered_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t reads() const noexcept { return reads_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t back_pressured() const noexcept {
    return back_pressured_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t handler_exceptions() const noexcept {
    return handler_exceptions_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] const SkipCounter& skips() const noexcept { return skips_; }

 private:
  enum Tag : std::uintptr_t { kLastEntry = 1, kRead = 2 };

  void on_ready() noexcept override;
  void on_down(std::string_view why) noexcept override;
  void on_reply(std::uintptr_t tag, redisReply* reply) noexcept override;

  void read() noexcept;
  void resolve_latest() noexcept;
  [[nodiscard]] bool idle() const;
  void send_read(StreamId after) noexcept;
  void read_reply(const redisReply* reply) noexcept;
  // False when the bus could not take the entry (back-pressure): stop here.
  bool deliver(const redisReply* entry) noexcept;
  // position() learns the cursor (the cursor itself is loop-thread state).
  void publish_position() noexcept;
  // Reads again after back_pressure_retry.
  void retry_soon() noexcept;
  static void on_retry(uv_timer_t* timer);

  IoThread& io_;
  IoThread::Lease io_lease_;  // this object must not outlive io_
  StreamTailOptions options_;
  Handler handler_;
  BatchDone batch_done_;
  std::function<bool()> interested_;
  std::unique_ptr<AsyncConnection> connection_;
  SkipCounter skips_;

  // Loop thread state.
  std::optional<StreamId> cursor_;  // last delivered (or the resolved start)
  std::string cursor_text_;
  std::string count_text_;
  std::string block_text_;
  uv_timer_t retry_{};
  bool started_ = false;
  bool stopping_ = false;
  bool reading_ = false;       // an XREAD is in flight
  bool discard_next_ = false;  // its reply is past a stall: drop it, read again
  std::function<void()> on_closed_;
  int open_handles_ = 0;

  mutable std::mutex position_mutex_;
  std::optional<StreamId> position_;
  std::atomic<std::uint64_t> delivered_{0}, reads_{0}, back_pressured_{0}, handler_exceptions_{0};
  std::atomic<bool> logged_handler_exception_{false};
};

}  // namespace tradpal::redis
