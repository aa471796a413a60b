#include "tools/eventd/pending_publishes.h"

#include "adapters/http/json_writer.h"
#include "tools/eventd/body_validation.h"
#include "tools/eventd/log.h"

namespace tradpal::eventd {

PendingPublishes::PendingPublishes(uv_loop_t* loop, Bus& bus, const RedisMonitor& monitor, ServiceCounters& counters,
                                   prometheus::Histogram& latency, prometheus::Histogram& batch,
                                   std::chrono::milliseconds timeout, std::function<void()> published)
    : bus_(bus),
      monitor_(monitor),
      counters_(counters),
      latency_(latency),
      batch_(batch),
      timeout_(timeout),
      published_(std::move(published)) {
  uv_timer_init(loop, &deadline_timer_);
  deadline_timer_.data = this;
}

void PendingPublishes::close() noexcept {
  if (closed_) return;
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&deadline_timer_), nullptr);
}

bool PendingPublishes::admit(http::Responder& responder) {
  if (const auto why = monitor_.unavailable_reason()) {
    counters_.reject(Rejection::redis_unavailable);
    responder.send_error(503, *why);
    return false;
  }
  return true;
}

void PendingPublishes::publish(EventSpec spec, Shape shape, http::Responder responder) {
  if (!admit(responder)) return;
  spec.correlation = next_token_++;
  Published out;
  const PublishStatus status = bus_.try_publish(spec, &out);
  track(status, spec.correlation, out, spec.type, shape, std::move(responder));
}

void PendingPublishes::publish_market_data(std::string_view symbol, std::string_view data, std::string_view source,
                                           http::Responder responder) {
  if (!admit(responder)) return;
  const std::uint64_t token = next_token_++;
  Published out;
  const PublishStatus status = bus_.try_publish_market_data(symbol, data, source, &out, token);
  track(status, token, out, EventType::market_data_update, Shape::message_id_only, std::move(responder));
}

void PendingPublishes::track(PublishStatus status, std::uint64_t token, const Published& out, EventType type,
                             Shape shape, http::Responder responder) {
  switch (status) {
    case PublishStatus::ok:
      break;
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
      // `invalid` (data or metadata not an object, source too long) after
      // the body passed validation: still a 422 in FastAPI's list shape.
      responder.send_json(422, validation_detail({{"[\"body\"]", "event rejected by the bus: " + std::string(to_string(status)),
                                                   "value_error", {}}}));
      return;
  }
  const auto now = std::chrono::steady_clock::now();
  pending_.emplace(token, Pending{std::move(responder), shape, type, out.event_id, now});
  deadlines_.emplace_back(now + timeout_, token);
  if (deadlines_.size() == 1) arm_deadline();
  published_();
}

void PendingPublishes::on_acknowledged(std::span<const redis::Acknowledgement> burst) {
  std::size_t ours = 0;
  const auto now = std::chrono::steady_clock::now();
  for (const redis::Acknowledgement& ack : burst) {
    const auto it = pending_.find(ack.correlation);
    if (it == pending_.end()) continue;  // not ours, or answered 503 at its deadline
    ++ours;
    Pending& p = it->second;
    latency_.Observe(std::chrono::duration<double>(now - p.started).count());
    ++counters_.published[to_index(p.type)];
    http::JsonWriter w;
    w.begin_object().key("message_id").string(ack.id.to_string());
    if (p.shape == Shape::with_event_id) {
      char id[Uuid::kTextSize];
      p.event_id.format(id);
      w.key("event_id").string(std::string_view(id, sizeof id));
    }
    w.key("status").string("published").end_object();
    p.responder.send_json(200, std::move(w).take());
    pending_.erase(it);
  }
  if (ours != 0) batch_.Observe(static_cast<double>(ours));
}

void PendingPublishes::on_abandoned(std::span<const std::uint64_t> correlations) {
  for (const std::uint64_t token : correlations) {
    const auto it = pending_.find(token);
    if (it == pending_.end()) continue;
    counters_.reject(Rejection::abandoned);
    it->second.responder.send_error(503, "Redis did not acknowledge the event before the persister stopped");
    pending_.erase(it);
  }
}

void PendingPublishes::on_refused(std::span<const std::uint64_t> correlations) {
  for (const std::uint64_t token : correlations) {
    const auto it = pending_.find(token);
    if (it == pending_.end()) continue;
    counters_.reject(Rejection::invalid_json);
    it->second.responder.send_json(
        422, validation_detail({{"[\"body\",\"data\"]", "the event's data or metadata is not valid JSON",
                                 "value_error.jsondecode", {}}}));
    pending_.erase(it);
  }
}

void PendingPublishes::arm_deadline() noexcept {
  // Answered publishes leave their deadline behind: skip them first.
  while (!deadlines_.empty() && !pending_.contains(deadlines_.front().second)) deadlines_.pop_front();
  if (closed_ || deadlines_.empty()) return;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadlines_.front().first -
                                                                  std::chrono::steady_clock::now());
  uv_timer_start(&deadline_timer_, &PendingPublishes::on_deadline,
                 static_cast<std::uint64_t>(std::max<std::int64_t>(left.count(), 0)), 0);
}

void PendingPublishes::on_deadline(uv_timer_t* timer) noexcept {
  auto* self = static_cast<PendingPublishes*>(timer->data);
  run_logged("expiring publishes", [self] { self->expire_overdue(); });
  self->arm_deadline();
}

void PendingPublishes::expire_overdue() {
  const auto now = std::chrono::steady_clock::now();
  while (!deadlines_.empty() && deadlines_.front().first <= now) {
    const std::uint64_t token = deadlines_.front().second;
    deadlines_.pop_front();
    const auto it = pending_.find(token);
    if (it == pending_.end()) continue;
    counters_.reject(Rejection::ack_timeout);
    it->second.responder.send_error(
        503, "Redis did not acknowledge the event within " + std::to_string(timeout_.count()) +
                 " ms; it is in the service's buffer and may still be persisted");
    pending_.erase(it);
  }
}

}  // namespace tradpal::eventd
