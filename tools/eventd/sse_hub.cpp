#include "tools/eventd/sse_hub.h"

#include <algorithm>

#include <hiredis/hiredis.h>

#include "adapters/http/response.h"
#include "adapters/redis/entry_decoder.h"
#include "engine/event_json.h"
#include "tools/eventd/log.h"

namespace tradpal::eventd {
namespace {

// Events one client may hold waiting for their ids before the hub stops
// taking more from its subscription (the ring then counts what it misses).
constexpr std::size_t kMaxQueued = 4096;
// Stream ids remembered for clients whose events still wait.
constexpr std::size_t kMaxIds = 1 << 17;
// The most events a resume reads from Redis; older gaps are reported missed.
constexpr std::size_t kMaxGap = 100000;

}  // namespace

SseHub::SseHub(Bus& bus, RedisReaders& readers, ServiceCounters& counters, std::chrono::milliseconds heartbeat)
    : bus_(bus), readers_(readers), counters_(counters), heartbeat_(heartbeat) {}

SseHub::~SseHub() = default;

void SseHub::open(EventTypeSet types, std::optional<redis::StreamId> resume_after, http::Responder responder) {
  auto c = std::make_unique<Client>();
  try {
    c->subscription = bus_.subscribe({.types = types, .mode = BackPressure::lossy});
  } catch (const std::exception&) {
    responder.send_error(503, "Too many stream clients: no bus subscriber slot is free");
    return;
  }
  c->id = next_id_++;
  c->stream = responder.start_stream();
  if (!c->stream.open()) return;
  const std::uint64_t id = c->id;
  c->stream.on_close([this, id] {
    // May run inside a write: mark now, remove in sweep().
    if (const auto it = clients_.find(id); it != clients_.end()) it->second->gone = true;
  });
  (void)c->stream.write("retry: 1000\n: connected\n\n");
  c->last_write = std::chrono::steady_clock::now();
  ++counters_.stream_clients_total;
  if (resume_after) {
    c->resuming = true;
    c->last_sent = resume_after;
    const std::string start = "(" + resume_after->to_string();
    readers_.run<std::vector<redis::StoredEvent>>(
        [start, types](Reader& reader) {
          std::vector<redis::StoredEvent> gap;
          redis::SyncClient& client = reader.client();
          redis::SkipCounter skips;
          std::string from = start;
          while (gap.size() < kMaxGap) {
            redis::ReplyPtr r = client.command({"XRANGE", reader.stream(), from, "+", "COUNT", "1000"});
            if (r->type != REDIS_REPLY_ARRAY) throw redis::RedisError("XRANGE failed");
            for (std::size_t i = 0; i < r->elements; ++i) {
              const std::string_view entry = redis::entry_id(r->element[i]);
              if (!entry.empty()) from.assign("(").append(entry);
              auto e = redis::decode_entry(r->element[i], skips);
              if (e && (types.empty() || types.contains(e->event.type))) gap.push_back(std::move(*e));
            }
            if (r->elements < 1000) break;
          }
          return gap;
        },
        [this, id](Outcome<std::vector<redis::StoredEvent>> gap) { finish_resume(id, std::move(gap)); });
  }
  clients_.emplace(id, std::move(c));
}

void SseHub::finish_resume(std::uint64_t client_id, Outcome<std::vector<redis::StoredEvent>> gap) {
  const auto it = clients_.find(client_id);
  if (it == clients_.end() || it->second->gone) return;
  Client& c = *it->second;
  if (!gap.value) {
    (void)c.stream.send("{\"detail\":" + http::json_quote("cannot read the gap from Redis: " + gap.error) + "}",
                        "error");
  } else {
    for (const redis::StoredEvent& e : *gap.value) {
      if (!send_event(c, e.event, e.id)) {
        ++c.slow_missed;
        continue;
      }
      c.last_sent = redis::StreamId::parse(e.id);
    }
  }
  c.resuming = false;
  flush(c);
}

void SseHub::on_persisted(Sequence sequence, std::string_view message_id) {
  persisted_up_to(sequence);
  if (clients_.empty()) return;
  ids_.emplace_back(sequence, std::string(message_id));
  while (ids_.size() > kMaxIds) ids_.pop_front();
}

void SseHub::persisted_up_to(Sequence sequence) noexcept {
  if (!any_persisted_ || sequence > persisted_) persisted_ = sequence;
  any_persisted_ = true;
}

std::optional<std::string_view> SseHub::id_of(Sequence sequence) const noexcept {
  const auto it = std::lower_bound(ids_.begin(), ids_.end(), sequence,
                                   [](const auto& entry, Sequence s) { return entry.first < s; });
  if (it == ids_.end() || it->first != sequence) return std::nullopt;
  return std::string_view(it->second);
}

void SseHub::take(Client& c) {
  if (c.queue.size() >= kMaxQueued) return;
  c.subscription.poll(
      [&](const EventView& view, bool) {
        // Copies out: the view is valid only during this call.
        c.queue.push_back(Item{to_event(view), view.sequence()});
      },
      kMaxQueued - c.queue.size());
}

bool SseHub::send_event(Client& c, const Event& event, std::string_view id) {
  scratch_.clear();
  append_event_json(scratch_, event);
  const http::StreamWrite w = c.stream.send(scratch_, to_string(event.type), id);
  if (w != http::StreamWrite::kQueued) {
    if (w == http::StreamWrite::kOverLimit) ++counters_.stream_missed_slow;
    return false;
  }
  ++counters_.consumed[to_index(event.type)];
  c.last_write = std::chrono::steady_clock::now();
  return true;
}

bool SseHub::tell_missed(Client& c) {
  const std::uint64_t lost = c.subscription.lost_total();
  const std::uint64_t ring_missed = lost - c.lost_told;
  const std::uint64_t missed = ring_missed + c.slow_missed;
  if (missed == 0) return true;
  const std::string data = "{\"missed\":" + std::to_string(missed) +
                           ",\"total_missed\":" + std::to_string(c.total_missed + missed) + "}";
  if (c.stream.send(data, "missed") != http::StreamWrite::kQueued) return false;
  counters_.stream_missed_ring += ring_missed;
  c.lost_told = lost;
  c.slow_missed = 0;
  c.total_missed += missed;
  c.last_write = std::chrono::steady_clock::now();
  return true;
}

void SseHub::flush(Client& c) {
  if (c.resuming || c.gone) return;
  if (!tell_missed(c)) return;
  while (!c.queue.empty()) {
    Item& item = c.queue.front();
    std::string_view id;
    if (item.event.origin == EventOrigin::local) {
      if (!any_persisted_ || item.sequence > persisted_) break;  // wait for its id
      if (const auto known = id_of(item.sequence)) id = *known;
      if (!id.empty() && c.last_sent) {
        const auto parsed = redis::StreamId::parse(id);
        if (parsed && *parsed <= *c.last_sent) {  // the resume gap sent it already
          c.queue.pop_front();
          continue;
        }
      }
    }
    if (send_event(c, item.event, id)) {
      if (!id.empty()) c.last_sent = redis::StreamId::parse(id);
    } else {
      ++c.slow_missed;
    }
    c.queue.pop_front();
  }
  (void)tell_missed(c);
}

void SseHub::pump() {
  for (auto& [id, c] : clients_) {
    if (c->gone) continue;
    take(*c);
    flush(*c);
  }
  // Forget ids no waiting event can still need.
  Sequence oldest = persisted_;
  bool waiting = false;
  for (auto& [id, c] : clients_) {
    if (!c->queue.empty()) {
      oldest = waiting ? std::min(oldest, c->queue.front().sequence) : c->queue.front().sequence;
      waiting = true;
    }
  }
  if (!waiting) {
    ids_.clear();
  } else {
    while (!ids_.empty() && ids_.front().first < oldest) ids_.pop_front();
  }
}

void SseHub::sweep() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (it->second->gone || !it->second->stream.open()) {
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
}

void SseHub::tick() {
  pump();
  const auto now = std::chrono::steady_clock::now();
  for (auto& [id, c] : clients_) {
    if (!c->gone && now - c->last_write >= heartbeat_) {
      if (c->stream.comment("heartbeat") == http::StreamWrite::kQueued) c->last_write = now;
    }
  }
  sweep();
}

}  // namespace tradpal::eventd
