// tools/eventd/sse_hub.h
//
// SseHub: GET /events/stream. Every client is a lossy bus subscriber of its
// own, so a slow client can never slow the bus or the persister; what it
// misses is counted and told to it as an SSE event
//   event: missed
//   data: {"missed": 12, "total_missed": 40}
// Each live event carries its Redis stream id as the SSE id, so a client
// resumes with Last-Event-ID (or ?from=<id>): the hub subscribes first, reads
// the gap from Redis on a reader thread, sends it, then carries on live and
// skips what the gap already covered.
//
// A local event's stream id exists only once Redis acknowledged it: events
// taken from a client's subscription wait in that client's queue until the
// persister's acknowledgement (on_persisted) names their id, so a stream
// shows what is durable and a resume never misses or repeats it. Replayed
// events (origin replayed) are not persisted again; they go out at once,
// without an id. Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "adapters/http/event_stream.h"
#include "adapters/http/responder.h"
#include "adapters/redis/stream_id.h"
#include "engine/bus.h"
#include "engine/event.h"
#include "tools/eventd/redis_readers.h"
#include "tools/eventd/service_counters.h"

namespace tradpal::eventd {

class SseHub {
 public:
  SseHub(Bus& bus, RedisReaders& readers, ServiceCounters& counters, std::chrono::milliseconds heartbeat);
  ~SseHub();
  SseHub(const SseHub&) = delete;
  SseHub& operator=(const SseHub&) = delete;

  // Opens a stream for `responder` (answers 503 when no bus slot is free).
  // `resume_after`: send every matching event after that stream id first.
  void open(EventTypeSet types, std::optional<redis::StreamId> resume_after, http::Responder responder);

  // The persister acknowledged the event at bus `sequence` as `message_id`
  // (acknowledgements arrive in sequence order).
  void on_persisted(Sequence sequence, std::string_view message_id);
  // Every local event up to `sequence` is acknowledged, tracked or not.
  void persisted_up_to(Sequence sequence) noexcept;

  // Takes new events from every client's subscription and sends what may be
  // sent. Cheap when nothing is new.
  void pump();
  // pump() plus heartbeats and the removal of clients that have gone.
  void tick();

  [[nodiscard]] std::size_t clients() const noexcept { return clients_.size(); }

 private:
  struct Item {
    Event event;
    Sequence sequence;
  };
  struct Client {
    std::uint64_t id = 0;
    Subscription subscription;
    http::EventStream stream;
    std::deque<Item> queue;
    bool resuming = false;
    bool gone = false;
    std::optional<redis::StreamId> last_sent;
    std::uint64_t lost_told = 0;      // subscription.lost_total() already reported
    std::uint64_t slow_missed = 0;    // dropped for a full socket, not yet reported
    std::uint64_t total_missed = 0;
    std::chrono::steady_clock::time_point last_write;
  };

  void take(Client& c);
  void flush(Client& c);
  // False when the client cannot take more now.
  bool tell_missed(Client& c);
  bool send_event(Client& c, const Event& event, std::string_view id);
  [[nodiscard]] std::optional<std::string_view> id_of(Sequence sequence) const noexcept;
  void finish_resume(std::uint64_t client_id, Outcome<std::vector<redis::StoredEvent>> gap);
  void sweep();

  Bus& bus_;
  RedisReaders& readers_;
  ServiceCounters& counters_;
  std::chrono::milliseconds heartbeat_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Client>> clients_;
  // Stream ids of recent acknowledged events, in sequence order; kept only
  // while there are clients to use them.
  std::deque<std::pair<Sequence, std::string>> ids_;
  Sequence persisted_ = 0;  // every local event below or at this is acknowledged
  bool any_persisted_ = false;
  std::string scratch_;
};

}  // namespace tradpal::eventd
