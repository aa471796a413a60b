// adapters/redis/remote_subscription.h
//
// RemoteSubscription: one consumer of a Redis consumer group on the TradPal
// stream (what the Python reader does with XREADGROUP), on an IoThread's
// loop with a connection of its own, since a blocking read must never hold
// up the persister's writes.
//
//   ready ─► XGROUP CREATE <stream> <group> $ MKSTREAM (BUSYGROUP is fine)
//         ─► XREADGROUP ... STREAMS <stream> 0   (our own pending history first)
//         ─► XREADGROUP ... COUNT n BLOCK ms STREAMS <stream> >   (loop)
//   every claim_interval: XAUTOCLAIM entries idle longer than claim_idle,
//   then XPENDING for their delivery counts: more than max_deliveries moves
//   the entry to <stream>:dead (with original_id, deliveries, reason) and acks.
//
// Each entry goes to the handler registered for its type (or the catch-all)
// and/or is republished into a Bus with origin remote. XACK follows success;
// a handler that returns false or throws leaves the entry pending, so it is
// retried after claim_idle. Undecodable entries are counted (skips()) and
// dead-lettered at once. Handlers run on the I/O thread: keep them short.
// Register handlers before start(); health accessors from any thread.
//
// Lifetimes: the IoThread must outlive the RemoteSubscription (destroying
// it first aborts with a message, see IoThread::Lease), and so must the Bus
// it republishes into and its handlers' captures.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "adapters/redis/async_connection.h"
#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/io_thread.h"
#include "engine/bus.h"

namespace tradpal::redis {

struct RemoteSubscriptionOptions {
  ConnectionOptions connection;
  std::string stream = "tradpal_events";
  std::string group = "tradpal_consumers";
  std::string consumer;                       // required, unique within the group
  std::size_t count = 10;                     // entries per read
  std::chrono::milliseconds block{1000};      // XREADGROUP BLOCK
  std::chrono::milliseconds claim_idle{30000};
  std::chrono::milliseconds claim_interval{1000};
  unsigned max_deliveries = 5;                // more than this: dead letter
  // Default "<stream>:dead"; on a cluster "{<stream>}:dead" when the stream
  // has no hash tag, so both share a slot (a name in another slot is refused).
  std::string dead_letter_stream;
  Bus* bus = nullptr;                         // republish here with origin remote
};

class RemoteSubscription final : private ConnectionOwner {
 public:
  // Returns true when the event was handled; false (or a throw) leaves it pending.
  using Handler = std::function<bool(const StoredEvent&)>;

  // Throws ConfigError for missing names.
  RemoteSubscription(IoThread& io, RemoteSubscriptionOptions options);
  ~RemoteSubscription();
  RemoteSubscription(const RemoteSubscription&) = delete;
  RemoteSubscription& operator=(const RemoteSubscription&) = delete;

  void on(EventType type, Handler handler);
  void on_any(Handler handler);

  void start();
  // Stops after the acknowledgements already sent have been answered (at
  // most the reply timeout); entries not acknowledged stay pending. Idempotent.
  void stop();

  [[nodiscard]] bool connected() const noexcept { return connection_ && connection_->connected(); }
  [[nodiscard]] BreakerState breaker_state() const noexcept { return connection_->breaker_state(); }
  [[nodiscard]] std::string last_error() const { return connection_->last_error(); }
  [[nodiscard]] std::uint64_t handled() const noexcept { return handled_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t claimed() const noexcept { return claimed_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t dead_lettered() const noexcept { return dead_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t reads() const noexcept { return reads_.load(std::memory_order_relaxed); }
  [[nodiscard]] const SkipCounter& skips() const noexcept { return skips_; }

 private:
  struct OwnedEntry {
    std::string id;
    std::vector<std::pair<std::string, std::string>> fields;
    bool deleted = false;  // pending, but gone from the stream
  };
  enum Tag : std::uintptr_t { kGroup = 1, kRead, kAck, kClaim, kPending, kDeadLetter };

  void on_ready() noexcept override;
  void on_down(std::string_view why) noexcept override;
  void on_reply(std::uintptr_t tag, redisReply* reply) noexcept override;

  void next() noexcept;
  void read() noexcept;
  void claim() noexcept;
  void read_reply(redisReply* reply) noexcept;
  void claim_reply(redisReply* reply) noexcept;
  void pending_reply(redisReply* reply) noexcept;
  void process(std::vector<OwnedEntry>& entries, const std::vector<std::uint64_t>* deliveries) noexcept;
  bool handle(const OwnedEntry& entry) noexcept;
  void dead_letter(const OwnedEntry& entry, std::uint64_t deliveries, std::string_view reason) noexcept;
  void send_acks() noexcept;
  void send(const std::vector<std::string>& args, Tag tag,
            std::chrono::milliseconds allowance = std::chrono::milliseconds(0)) noexcept;
  static std::vector<OwnedEntry> own(const redisReply* entries);

  IoThread& io_;
  IoThread::Lease io_lease_;  // this object must not outlive io_
  RemoteSubscriptionOptions options_;
  std::array<Handler, kEventTypeCount> handlers_;
  Handler any_;
  std::unique_ptr<AsyncConnection> connection_;
  SkipCounter skips_;

  // Loop thread state.
  bool history_done_ = false;
  bool stopping_ = false;
  bool started_ = false;
  std::size_t acks_in_flight_ = 0;
  std::vector<std::string> to_ack_;
  std::vector<OwnedEntry> claimed_entries_;
  std::string claim_cursor_ = "0-0";
  std::uint64_t next_claim_ms_ = 0;
  std::function<void()> on_closed_;
  bool close_requested_ = false;

  std::atomic<std::uint64_t> handled_{0}, failed_{0}, claimed_{0}, dead_{0}, reads_{0};
};

}  // namespace tradpal::redis
