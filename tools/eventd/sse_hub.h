// tools/eventd/sse_hub.h
//
// SseHub: GET /events/stream. It carries every event of the Redis stream,
// whoever wrote it (this eventd, another one, a Python service, redis-cli),
// in stream order, each with `id: <stream id>`, as the StreamTail delivers
// them; plus the events /events/replay republishes into the service's
// replay bus (without an id: they are old entries, not new ones).
//
//   StreamTail (I/O thread) ──entry──► encode once as SSE text ──► inbox
//   inbox ──one Server::post per tail burst──► deliver() on the loop
//   deliver(): for each client whose type filter matches, write the shared
//              text (or queue a pointer to it while the client resumes)
//
// Each event is encoded once, not once per client; a client costs its
// socket's unsent bytes (bounded by the server's stream limit) and, while
// it resumes, a bounded queue of shared pointers. A client that cannot keep
// up never slows the others and loses nothing of the stream: when its
// socket holds as much as a stream may, or its queue is full, it falls back
// to reading from Redis after the last event it was sent (catch_up), as a
// resuming client does, at its own pace, and rejoins the live events where
// the pages reach them. Only what is not in the stream can be missed (the
// events /events/replay republishes, or an event that alone exceeds the
// stream's unsent limit); that is counted and told to it as an SSE event
//   event: missed
//   data: {"missed": 12, "total_missed": 40}
//
// Partitioned (N partition streams on a cluster), a position is a cursor:
// one stream id per partition, written "<id0>,<id1>,..." as the SSE id (with
// one partition, a plain stream id: the single-stream wire). The tail's
// partitions interleave as they arrive, each in its own order; every event
// carries the cursor after it, so a client resumes exactly where it left
// off in every partition. Below, "stream id" reads "cursor" then, and a gap
// is read partition by partition.
//
// Every client starts from a stream id: its Last-Event-ID (or ?from=<id>),
// or for a new client the id of the stream's last entry when it opened
// (asked of Redis; the `: connected` comment says it is fixed). The client
// takes live events into its queue at once, while a reader thread reads the
// gap after its id from Redis in bounded pages (EventStore::read_after).
// Pages are sent until they reach the first queued live event; then the
// queue follows. A stream id at or below the last one sent is never sent
// again, so the seam neither misses nor repeats an event.
//
// While nobody listens the tail reads nothing. The first client restarts it:
// the hub asks Redis for the stream's last id S, restarts the tail after S
// (set_tail_restart), and every client that came meanwhile starts at S (a
// new one) or reads its gap once S is known (a resuming one), so the tail
// covers all that follows S and nothing falls between.
//
// Threads: on_stream_entry/on_stream_batch on the tail's I/O thread;
// everything else on the loop thread.
#pragma once

#include <algorithm>

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/event_stream.h"
#include "adapters/http/responder.h"
#include "adapters/http/task.h"
#include "adapters/redis/event_store.h"
#include "adapters/redis/stream_tail.h"
#include "engine/bus.h"
#include "engine/stream_cursor.h"
#include "engine/stream_id.h"
#include "tools/eventd/redis_readers.h"
#include "tools/eventd/service_counters.h"

namespace tradpal::eventd {

// One event as SSE text, shared by every client that gets it.
struct SseFrame {
  EventType type = EventType::system_health;
  std::size_t partition = 0;
  std::optional<StreamId> id;  // none for replayed events
  // The cursor the text's id line names (empty: the text has no id line).
  StreamCursor cursor;
  std::string text;            // "id: ...\nevent: ...\ndata: ...\n\n"
  std::size_t body_at = 0;     // where the text after the id line begins
};
using SseFramePtr = std::shared_ptr<const SseFrame>;

// The SSE text of a decoded event (the wire JSON of CONTRACT.md §1 as data),
// with an id line naming `cursor` unless it is empty.
[[nodiscard]] SseFramePtr encode_sse_frame(const EventFields& event, std::size_t partition,
                                           std::optional<StreamId> id, StreamCursor cursor);

class SseHub {
 public:
  using Post = std::function<bool(http::Task)>;

  // `replays`: the bus /events/replay republishes into.
  // `stall_timeout`: a client that has taken nothing for this long (its
  // unsent output full, so not even a heartbeat goes out) is disconnected:
  // clients that never read must not hold connections for good.
  // `partitions`: how many partition streams the tail follows.
  SseHub(uv_loop_t* loop, Bus& replays, RedisReaders& readers, ServiceCounters& counters, std::size_t partitions,
         std::chrono::milliseconds heartbeat, std::chrono::milliseconds stall_timeout, Post post);
  ~SseHub();
  SseHub(const SseHub&) = delete;
  SseHub& operator=(const SseHub&) = delete;

  // ---- the stream tail's I/O thread ------------------------------------------
  void on_stream_entry(std::size_t partition, const redis::TailEntry& entry) noexcept;
  void on_stream_batch() noexcept;
  [[nodiscard]] bool has_clients() const noexcept { return client_count_.load(std::memory_order_acquire) != 0; }

  // ---- loop thread ------------------------------------------------------------
  // How to restart the tail after a cursor (empty: from each stream's end).
  void set_tail_restart(std::function<void(const StreamCursor&)> f) { restart_tail_ = std::move(f); }
  // Where the tail stands (nullopt where it does not know yet), asked on
  // the I/O thread only while Redis could not say where the stream ended
  // when the tail restarted.
  void set_tail_position(std::function<std::vector<std::optional<StreamId>>()> f) { tail_position_ = std::move(f); }
  [[nodiscard]] std::size_t partitions() const noexcept { return partitions_; }

  // ---- loop thread ------------------------------------------------------------
  // Opens a stream for `responder`. `resume_after`: first every matching
  // event after that cursor (one id per partition).
  void open(EventTypeSet types, std::optional<StreamCursor> resume_after, http::Responder responder);
  // Sends what /events/replay has republished into the bus so far.
  void pump_replayed();
  // Ends every stream and closes the heartbeat timer. Idempotent.
  void close() noexcept;

  // Connected clients now: one that hung up is left out at once, though it
  // is removed from clients_ only at the next sweep.
  [[nodiscard]] std::size_t clients() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return !c.second->gone; }));
  }

 private:
  struct Client {
    std::uint64_t id = 0;
    EventTypeSet types;
    http::EventStream stream;
    bool resuming = false;
    bool gone = false;
    std::deque<SseFramePtr> queue;    // live events held while resuming
    // Where it stands: per partition, the last id sent or passed by.
    std::optional<StreamCursor> last_sent;
    std::uint64_t missed = 0;         // dropped, not yet told
    std::uint64_t total_missed = 0;
    std::chrono::steady_clock::time_point last_write;
    // A gap read waiting for the socket to take what it holds: the page
    // after `after` of `partition` is read once the output has drained.
    struct ParkedGap {
      std::size_t partition = 0;
      StreamId after;
      std::size_t count = 0;  // events to ask for: about what the socket took last time
    };
    std::optional<ParkedGap> parked;
    // Live events dropped from the full queue while resuming, since this
    // pass over the partitions began: when it ends, another reads on from
    // where it got (or, with no position to read after, they count missed).
    std::uint64_t dropped = 0;
  };

  void drain_inbox();
  // To every client: written, or queued while it resumes.
  void deliver(std::span<const SseFramePtr> frames);
  // Writes the frames the client's filter takes, skipping ids already sent,
  // in one write; when its socket can take no more they count as missed.
  void write(Client& c, std::span<const SseFramePtr> frames);
  bool tell_missed(Client& c);
  // A live client whose socket cannot take a burst: it reads on from Redis
  // after its last event sent. False when it has no position to read after.
  bool catch_up(Client& c);
  // The ": connected" comment: from here on the client's start is fixed.
  void go_live(Client& c);
  // An `event: error` with {"detail": ...}.
  void send_error(Client& c, const std::string& detail);
  // Redis could not say where the stream ends: live from now, no gap.
  void live_without_start(Client& c, const std::string& error);
  // One page of a partition's gap; the partitions are read one after another.
  // `count`: at most that many events (a slow client's pages shrink to what
  // its socket takes between two looks, so Redis is not read many times over).
  void read_gap(std::uint64_t client_id, std::size_t partition, StreamId after, std::size_t count);
  // The gap of the partitions from `partition` on (finish_resume after the last).
  void read_gaps_from(Client& c, std::size_t partition);
  // A new client's start: the stream's last id now, then its gap.
  void find_start(std::uint64_t client_id);
  // The tail's restart point is known: restart it, start those who waited.
  void tail_restarted(Outcome<StreamCursor> start);
  void gap_page(std::uint64_t client_id, std::size_t partition, StreamId after, Outcome<redis::EventPage> page);
  // Gap reads wait for slow sockets instead of overflowing them: a page is
  // read only once the client has taken what it holds (checked every few
  // ms while some wait), so a backlog reaches a slow reader whole.
  void park_gap(Client& c, std::size_t partition, StreamId after, std::size_t count);
  void resume_parked();
  static void on_drain_check(uv_timer_t* timer) noexcept;
  void finish_resume(Client& c);
  void heartbeat();
  void sweep();
  static void on_heartbeat(uv_timer_t* timer) noexcept;

  RedisReaders& readers_;
  ServiceCounters& counters_;
  std::chrono::milliseconds heartbeat_;
  std::chrono::milliseconds stall_timeout_;
  Post post_;
  std::size_t partitions_;
  std::function<void(const StreamCursor&)> restart_tail_;
  bool restarting_ = false;                  // the tail's restart point is being asked
  std::vector<std::uint64_t> waiting_start_;  // clients that came meanwhile
  uv_timer_t heartbeat_timer_{};
  uv_timer_t drain_timer_{};  // runs while a gap read is parked
  bool closed_ = false;

  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Client>> clients_;
  // How many clients there are, for the I/O thread: with none, nothing is encoded.
  std::atomic<std::size_t> client_count_{0};

  // A lossy subscriber of the replay bus.
  Subscription replayed_;
  std::uint64_t replayed_lost_told_ = 0;

  // The tail's inbox.
  std::mutex inbox_mutex_;
  std::vector<SseFramePtr> inbox_;
  std::vector<SseFramePtr> draining_;
  bool posted_ = false;
  // The tail's cursor after the last entry encoded (I/O thread, under
  // inbox_mutex_; reset when the tail restarts).
  StreamCursor tail_cursor_;
  bool tail_cursor_unknown_ = false;  // the restart point could not be read
  std::function<std::vector<std::optional<StreamId>>()> tail_position_;
  std::string batch_;     // one client's share of a burst (loop thread)
  StreamCursor scratch_;  // a client's cursor while its burst is written (loop thread)
};

}  // namespace tradpal::eventd
