// adapters/redis/persister.h
//
// Persister: writes every event published on the Bus to the Redis stream,
// as `XADD <stream> [MAXLEN ~ N | MINID ~ id] * event <json>`. It is a
// gating subscriber, so publishers see back_pressured before anything is
// lost, and it runs on an IoThread's loop with its own AsyncConnection.
//
//   bus ring ──poll──► retry buffer (encoded, unacknowledged) ──burst──► Redis
//                      ▲ acked_            ▲ sent_               ▲ end_
//   entries [acked_, sent_) are in flight, [sent_, end_) wait for a connection.
//
// Why a buffer of our own: the ring frees an event's space as soon as poll()
// returns, but Redis may not have it yet. The buffer holds the encoded JSON
// until Redis replies; when it is full the persister stops polling and the
// ring fills up, which is how back-pressure reaches publishers. After a
// reconnect it first looks in the stream for entries of the lost burst that
// Redis did execute (matching their exact JSON after the last id it saw
// acknowledged), so a retry never writes an event twice.
//
// Never waits on a timer while events are available, and no thread stands
// between a publisher and the loop: while the persister is idle it arms a
// Doorbell on the bus's ring (engine/ring.h), and the next commit, on the
// publisher's own thread, wakes the loop with uv_async_send. A busy
// persister is not rung at all: it comes back for more by itself.
//
// Acknowledgements are pushed, never polled: the replies one socket read
// brings are gathered and handed to the PersisterListener in one call
// (acknowledged), and connection or breaker changes likewise
// (state_changed). Events whose data or metadata is not valid JSON are
// refused, never written (PersisterListener::refused), so no message id is
// ever handed out for an entry every reader would skip. Threads: construct and destroy on any thread but the
// IoThread's; health() and counters from any thread. Events with origin replayed or remote came
// from Redis and are never written back.
//
// On a Redis Cluster (a redis+cluster:// URL) each persister writes one
// partition stream (Partitioning): it takes only the events of its
// partition from the ring (every persister sees every event and skips the
// others'), follows MOVED and ASK to the node holding its stream, and waits
// out a failover or migration (CLUSTERDOWN, TRYAGAIN) by reconnecting; the
// recovery scan after each reconnect is what keeps a retried burst from
// being written twice. With `replicas` set, an event is acknowledged only
// once WAIT says that many replicas hold it (one WAIT per burst).
//
// Lifetimes: the Bus and the IoThread must outlive the Persister (it is a
// subscriber of the one and runs on the other; destroying the IoThread first
// aborts with a message, see IoThread::Lease), and so must the listener.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/redis/async_connection.h"
#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/partitioning.h"
#include "adapters/redis/persister_listener.h"
#include "engine/bus.h"

namespace tradpal::redis {

struct PersisterOptions {
  ConnectionOptions connection;
  std::string stream = "tradpal_events";
  std::size_t max_batch = 1024;       // XADDs in one pipelined burst
  std::size_t max_in_flight = 2048;   // XADDs sent whose reply is pending
  std::size_t max_buffered = 65536;   // encoded entries not yet acknowledged
  // ... and their bytes: past this the persister stops taking from the ring
  // (publishers see back-pressure) until Redis acknowledges some.
  std::size_t max_buffered_bytes = std::size_t{64} << 20;
  // Retention (default unlimited). At most one of the two.
  std::optional<std::uint64_t> max_length;          // MAXLEN ~ N
  std::optional<std::chrono::milliseconds> max_age;  // MINID ~ <now - age>
  // Told of every acknowledged burst, of what was abandoned at stop and of
  // connection and breaker changes (a DurabilityTracker, or the caller's own).
  PersisterListener* listener = nullptr;
  // How the persister learns of new events. With `watch_ring` (the default)
  // the first commit after the persister went idle wakes its loop (a
  // doorbell on the ring), whoever publishes. Without it every publisher
  // must call Persister::notify() after publishing (one call may cover a
  // batch); an event left without one waits for the next. Suits a process
  // whose publishes all come from code it owns, as eventd's loop.
  bool watch_ring = true;
  // Partitioned stream: write only the events of `partition`, to
  // partitioning->stream(partition) (which replaces `stream`). Null: every
  // event, to `stream`.
  std::shared_ptr<const Partitioning> partitioning;
  std::size_t partition = 0;
  // Shared by the partitions' persisters on one IoThread (PartitionedPersister
  // sets it): each event's key is parsed once, not once per partition.
  PartitionMemo* partition_memo = nullptr;
  // Replicated acknowledgements: after each burst, WAIT <replicas>
  // <replica_timeout>; the burst's events are acknowledged only when at
  // least `replicas` replicas have them (a shorter answer is waited on
  // again, holding the events, so publishers feel back-pressure while
  // replicas are missing). 0: acknowledged when the master has them.
  int replicas = 0;
  std::chrono::milliseconds replica_timeout{1000};
};

struct PersisterHealth {
  BreakerState breaker = BreakerState::closed;
  bool connected = false;
  bool refusing = false;           // Redis refuses our writes (WRONGTYPE, NOPERM, OOM): see last_error
  std::string last_error;          // never contains a password
  std::string node;                // the node written to (or tried last), safe to log
  std::uint64_t persisted = 0;     // events Redis acknowledged
  std::uint64_t buffered = 0;      // taken from the ring, not yet acknowledged
  // Memory the buffer's slots hold (capacity, not just content). A slot
  // keeps at most kSlotKeptBytes once its event is acknowledged.
  std::uint64_t slot_bytes = 0;
  std::uint64_t skipped_foreign = 0;  // replayed/remote events not written back
  std::uint64_t recovered = 0;     // found already written after a reconnect
  std::uint64_t refused = 0;       // not written: data or metadata not valid JSON
  std::uint64_t redirects = 0;     // cluster: MOVED and ASK replies followed
  std::uint64_t replica_waits = 0; // WAITs answered with fewer replicas than asked
  std::uint64_t connect_attempts = 0;
  std::uint64_t failures = 0;
  std::uint64_t reply_timeouts = 0;
  Sequence persisted_sequence = 0;  // bus sequence of the last acknowledged event
};

class Persister final : private ConnectionOwner {
 public:
  // A buffer slot whose event was larger gives its memory back once Redis
  // has the event; smaller ones keep theirs for the next event.
  static constexpr std::size_t kSlotKeptBytes = 4096;

  // Subscribes to the bus (gating) at once, so every event published after
  // construction is persisted. Throws ConfigError for inconsistent options.
  Persister(Bus& bus, IoThread& io, PersisterOptions options);
  ~Persister();
  Persister(const Persister&) = delete;
  Persister& operator=(const Persister&) = delete;

  // Stops: closes the connection and the subscription. Unacknowledged
  // events stay unwritten and their tickets are abandoned. Idempotent.
  void stop();

  // True once every event the persister had taken from the ring, and every
  // event committed before the call, is acknowledged and its listener told
  // (or the event refused). Polls until `timeout`.
  [[nodiscard]] bool wait_idle(std::chrono::milliseconds timeout) const;

  // Wakes the loop to take what was published: from any thread, cheap when
  // a wake is already pending. Required after publishing without
  // `watch_ring`; harmless with it. Not after stop().
  void notify() noexcept;

  [[nodiscard]] PersisterHealth health() const;
  [[nodiscard]] BreakerState breaker_state() const noexcept { return connection_->breaker_state(); }
  [[nodiscard]] bool refusing() const noexcept { return connection_->refusing(); }
  [[nodiscard]] std::uint64_t persisted() const noexcept { return persisted_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::string json;
    std::uint64_t correlation = 0;
    Sequence sequence = 0;
    StreamId id;  // with replicas: Redis' id, held until WAIT confirms it
  };
  enum Tag : std::uintptr_t {
    kXadd = 1, kBaseline = 2, kRecover = 3, kProbeWrite = 4, kProbeType = 5, kWait = 6
  };

  void on_ready() noexcept override;
  void begin_session() noexcept;
  void probe_writes() noexcept;
  void probe_reply(std::uintptr_t tag, const redisReply* reply) noexcept;
  void on_down(std::string_view why) noexcept override;
  void on_reply(std::uintptr_t tag, redisReply* reply) noexcept override;
  void on_replies_done() noexcept override;
  void hand_over_acks() noexcept;
  void push_state(bool connected, std::string_view why) noexcept;

  void pump() noexcept;
  // After replies: pump() when a whole burst fits in flight again (or
  // nothing is in flight).
  void refill() noexcept;
  void take_from_ring() noexcept;
  void send_unsent() noexcept;
  void arm_doorbell() noexcept;
  static void doorbell_rung(void* self) noexcept;
  void acknowledge_front(StreamId id) noexcept;
  void wait_reply(const redisReply* reply) noexcept;
  bool send_wait() noexcept;
  void request_recovery_page() noexcept;
  void recovery_page(redisReply* reply) noexcept;
  void append_xadd(const Entry& e);

  Bus& bus_;
  IoThread& io_;
  IoThread::Lease io_lease_;  // this object must not outlive io_
  PersisterOptions options_;
  Subscription subscription_;
  std::unique_ptr<AsyncConnection> connection_;

  // Retry buffer (loop thread): absolute counters, index = counter % size.
  std::vector<Entry> entries_;
  std::uint64_t acked_ = 0, sent_ = 0, end_ = 0;
  // With replicas: [acked_, executed_) have their XADD reply, awaiting WAIT.
  std::uint64_t executed_ = 0;
  std::size_t waits_out_ = 0;  // WAITs sent, reply pending
  // Past the entries a lost connection left in doubt (sent, no reply): the
  // recovery scan looks for all of [acked_, lost_end_) in the stream.
  std::uint64_t lost_end_ = 0;

  std::vector<Acknowledgement> acks_;  // gathered during one socket read
  bool pushed_connected_ = false;
  BreakerState pushed_breaker_ = BreakerState::closed;
  bool pushed_any_ = false;

  std::string command_;             // the burst being formatted
  std::string xadd_prefix_;         // "*N\r\n$4\r\nXADD\r\n$k\r\n<stream>\r\n"
  std::string last_id_;             // last id we know is at or after our writes
  std::string scan_cursor_;
  bool baseline_known_ = false;
  bool needs_recovery_ = false;
  bool recovering_ = false;
  bool stopped_ = false;

  uv_async_t wake_{};
  int open_handles_ = 0;
  std::function<void()> on_closed_;
  std::atomic<bool> stopping_{false};
  Doorbell doorbell_{&Persister::doorbell_rung, this};
  bool doorbell_added_ = false;

  std::atomic<std::uint64_t> persisted_{0};
  std::atomic<std::uint64_t> buffered_{0};
  std::atomic<std::uint64_t> slot_bytes_{0};  // capacity held by entries_' strings
  std::size_t buffered_bytes_ = 0;              // loop thread: sizes of [acked_, end_)
  std::atomic<std::uint64_t> unhanded_{0};  // acknowledged, listener not yet told
  std::atomic<std::uint64_t> skipped_foreign_{0};
  std::atomic<std::uint64_t> recovered_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> replica_waits_{0};
  bool logged_refusal_ = false;  // loop thread
  std::string probe_error_;      // loop thread: what the write probe met
  std::atomic<Sequence> persisted_sequence_{0};
};

}  // namespace tradpal::redis
