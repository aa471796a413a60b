#include "tools/eventd/publisher.h"

#include "adapters/http/response.h"
#include "tools/eventd/log.h"

namespace tradpal::eventd {

Publisher::Publisher(Bus& bus, redis::DurabilityTracker& tracker, const RedisMonitor& monitor,
                     ServiceCounters& counters, prometheus::Histogram& latency, prometheus::Histogram& batch,
                     std::chrono::milliseconds timeout)
    : bus_(bus),
      tracker_(tracker),
      monitor_(monitor),
      counters_(counters),
      latency_(latency),
      batch_(batch),
      timeout_(timeout) {}

void Publisher::publish(const EventSpec& spec_in, Shape shape, http::Responder responder) {
  if (const auto why = monitor_.unavailable_reason()) {
    counters_.reject(Rejection::redis_unavailable);
    responder.send_error(503, *why);
    return;
  }
  const std::uint64_t key = next_key_++;
  EventSpec spec = spec_in;
  spec.correlation = tracker_.track([this, key](std::string_view id) { on_ack(key, id); });
  Published out;
  const PublishStatus status = bus_.try_publish(spec, &out);
  if (status != PublishStatus::ok) {
    tracker_.cancel(spec.correlation);
    switch (status) {
      case PublishStatus::back_pressured:
        counters_.reject(Rejection::back_pressured);
        responder.send_error(503, "Event ring is full (back-pressure): Redis persistence is behind, retry later");
        return;
      case PublishStatus::too_large:
        counters_.reject(Rejection::too_large);
        responder.send_error(413, "Event too large: source, data and metadata exceed " +
                                      std::to_string(bus_.ring().max_event_size()) + " bytes");
        return;
      case PublishStatus::closed:
        counters_.reject(Rejection::closed);
        responder.send_error(503, "Service is shutting down");
        return;
      default:
        responder.send_error(422, "Event rejected by the bus: " + std::string(to_string(status)));
        return;
    }
  }
  const auto now = std::chrono::steady_clock::now();
  pending_.emplace(key, Pending{spec.correlation, std::move(responder), shape, spec.type, out.event_id,
                                out.sequence, now});
  deadlines_.emplace_back(now + timeout_, key);
}

void Publisher::on_ack(std::uint64_t key, std::string_view message_id) noexcept {
  // Redis I/O thread: hand over and return; never answer from here.
  try {
    bool was_empty = false;
    {
      std::lock_guard lock(inbox_mutex_);
      was_empty = inbox_.empty();
      inbox_.push_back(Ack{key, std::string(message_id)});
    }
    if (was_empty && post_) post_([this] { drain_acks(); });
  } catch (...) {
    // Out of memory: the publish will answer 503 at its deadline.
    log_line("cannot hand an acknowledgement to the HTTP loop (out of memory)");
  }
}

void Publisher::drain_acks() {
  {
    std::lock_guard lock(inbox_mutex_);
    draining_.swap(inbox_);
  }
  if (draining_.empty()) return;
  batch_.Observe(static_cast<double>(draining_.size()));
  const auto now = std::chrono::steady_clock::now();
  for (Ack& ack : draining_) {
    const auto it = pending_.find(ack.key);
    if (it == pending_.end()) continue;  // already answered 503 at its deadline
    Pending& p = it->second;
    if (ack.message_id.empty()) {
      counters_.reject(Rejection::abandoned);
      p.responder.send_error(503, "Redis did not acknowledge the event before the persister stopped");
      pending_.erase(it);
      continue;
    }
    latency_.Observe(std::chrono::duration<double>(now - p.started).count());
    ++counters_.published[to_index(p.type)];
    if (on_persisted_) on_persisted_(p.sequence, ack.message_id);
    std::string body = "{\"message_id\":" + http::json_quote(ack.message_id);
    if (p.shape == Shape::with_event_id) {
      char id[Uuid::kTextSize];
      p.event_id.format(id);
      body += ",\"event_id\":\"";
      body.append(id, sizeof id);
      body += '"';
    }
    body += ",\"status\":\"published\"}";
    p.responder.send_json(200, std::move(body));
    pending_.erase(it);
  }
  draining_.clear();
}

void Publisher::expire_overdue() {
  const auto now = std::chrono::steady_clock::now();
  while (!deadlines_.empty() && deadlines_.front().first <= now) {
    const std::uint64_t key = deadlines_.front().second;
    deadlines_.pop_front();
    const auto it = pending_.find(key);
    if (it == pending_.end()) continue;
    tracker_.cancel(it->second.token);
    counters_.reject(Rejection::ack_timeout);
    it->second.responder.send_error(
        503, "Redis did not acknowledge the event within " + std::to_string(timeout_.count()) +
                 " ms; it is in the service's buffer and may still be persisted");
    pending_.erase(it);
  }
  // Keep the deque from growing without bound under a steady stream of
  // answered publishes when nothing is overdue.
  while (!deadlines_.empty() && !pending_.contains(deadlines_.front().second)) deadlines_.pop_front();
}

}  // namespace tradpal::eventd
