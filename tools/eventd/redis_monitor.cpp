#include "tools/eventd/redis_monitor.h"

#include <algorithm>

#include "adapters/http/json_writer.h"
#include "engine/timestamp.h"
#include "tools/eventd/log.h"

namespace tradpal::eventd {
namespace {

// Ring fill at which health says degraded, and unhealthy: past the second,
// publishes are about to meet back-pressure.
constexpr double kDegradedFill = 0.5;
constexpr double kUnhealthyFill = 0.9;
constexpr std::uint64_t kDegradedLag = 10000;

std::string_view to_string(HealthStatus s) noexcept {
  switch (s) {
    case HealthStatus::healthy: return "healthy";
    case HealthStatus::degraded: return "degraded";
    case HealthStatus::unhealthy: return "unhealthy";
  }
  return "unknown";
}

}  // namespace

RedisMonitor::RedisMonitor(const redis::PartitionedPersister& persister, const Bus& bus, std::string redacted_url)
    : persister_(persister), bus_(bus), url_(std::move(redacted_url)) {}

void RedisMonitor::refresh() {
  redis::PersisterHealth h = persister_.health();
  if (h.connected != health_.connected || !logged_once_) {
    if (h.connected) {
      log_line("connected to Redis at " + url_);
    } else if (logged_once_) {
      log_line("disconnected from Redis at " + url_ + (h.last_error.empty() ? "" : ": " + h.last_error));
    }
  }
  if (h.breaker != health_.breaker) {
    log_line("Redis circuit breaker " + std::string(redis::to_string(health_.breaker)) + " -> " +
             std::string(redis::to_string(h.breaker)));
  }
  logged_once_ = true;
  health_ = std::move(h);
}

std::optional<std::string> RedisMonitor::unavailable_reason() const {
  // The breaker is read live (an atomic); the connection flag from the last
  // refresh, which every connection change pushes.
  const redis::BreakerState breaker = persister_.breaker_state();
  if (persister_.refusing()) return "Redis refuses writes: " + persister_.health().last_error;
  if (breaker == redis::BreakerState::open) return std::string("Redis unavailable: circuit breaker open");
  if (!health_.connected) {
    return "Redis unavailable: not connected" + (health_.last_error.empty() ? "" : " (" + health_.last_error + ")");
  }
  return std::nullopt;
}

std::uint64_t RedisMonitor::persister_lag() const noexcept {
  // Every bus event is either acknowledged, skipped as foreign (replayed),
  // or still on its way: in the ring or in the persister's buffer.
  const std::uint64_t published = bus_.published_total();
  const std::uint64_t done = health_.persisted + health_.skipped_foreign;
  return published > done ? published - done : 0;
}

double RedisMonitor::ring_fill() const noexcept {
  return static_cast<double>(bus_.ring().fill_bytes()) / static_cast<double>(bus_.ring().capacity());
}

HealthStatus RedisMonitor::status() const noexcept {
  const double fill = ring_fill();
  // A refusing Redis accepts connections: without this, health would turn
  // healthy between refusals while nothing can be written.
  if (!health_.connected || persister_.refusing() ||
      health_.breaker == redis::BreakerState::open || fill >= kUnhealthyFill) {
    return HealthStatus::unhealthy;
  }
  if (health_.breaker == redis::BreakerState::half_open || fill >= kDegradedFill || persister_lag() >= kDegradedLag) {
    return HealthStatus::degraded;
  }
  return HealthStatus::healthy;
}

std::string RedisMonitor::health_json(std::size_t stream_clients, std::size_t pending_publishes,
                                      const redis::PartitionedStreamTail& tail, const ClusterView* cluster) const {
  char ts[kIsoTimestampSize];
  format_iso_timestamp(now_ns(), ts);
  const auto position = tail.position();
  http::JsonWriter w;
  w.begin_object();
  w.key("status").string(to_string(status()));
  w.key("timestamp").string(std::string_view(ts, sizeof ts));
  w.key("service").string("event_service");
  w.key("redis").begin_object();
  w.key("connected").boolean(health_.connected);
  w.key("refusing_writes").boolean(persister_.refusing());
  w.key("breaker").string(redis::to_string(persister_.breaker_state()));
  w.key("last_error");
  if (health_.last_error.empty()) {
    w.null();
  } else {
    w.string(health_.last_error);
  }
  w.key("node").string(health_.node);
  w.key("reply_timeouts").number(health_.reply_timeouts);
  w.key("failures").number(health_.failures);
  w.end_object();
  w.key("persister").begin_object();
  w.key("persisted").number(health_.persisted);
  w.key("buffered").number(health_.buffered);
  w.key("lag").number(persister_lag());
  w.key("pending_publishes").number(static_cast<std::uint64_t>(pending_publishes));
  w.end_object();
  w.key("stream").begin_object();
  w.key("connected").boolean(tail.connected());
  // One stream id per partition, as a stream client's cursor (a plain id
  // with one partition); null until the tail knows where it stands.
  w.key("position");
  if (std::all_of(position.begin(), position.end(), [](const auto& p) { return p.has_value(); })) {
    w.string(redis::PartitionedStreamTail::format_cursor(position));
  } else {
    w.null();
  }
  w.key("partitions").number(static_cast<std::uint64_t>(tail.partitions()));
  w.key("delivered").number(tail.delivered());
  w.key("undecodable").number(tail.skipped());
  w.end_object();
  w.key("ring").begin_object();
  w.key("fill").number(ring_fill());
  w.key("fill_bytes").number(static_cast<std::uint64_t>(bus_.ring().fill_bytes()));
  w.key("capacity_bytes").number(static_cast<std::uint64_t>(bus_.ring().capacity()));
  w.end_object();
  w.key("stream_clients").number(static_cast<std::uint64_t>(stream_clients));
  if (cluster != nullptr) {
    w.key("cluster").begin_object();
    if (!cluster->error.empty()) w.key("error").string(cluster->error);
    w.key("nodes").begin_array();
    for (const redis::ClusterNode& n : cluster->nodes) {
      w.begin_object().key("node").string(n.node).key("id").string(n.id).key("role").string(n.role);
      if (!n.master_id.empty()) w.key("master_id").string(n.master_id);
      w.key("connected").boolean(n.connected).key("failing").boolean(n.failing).key("slots").number(n.slots);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_object();
  return std::move(w).take();
}

}  // namespace tradpal::eventd
