#include "tools/eventd/redis_monitor.h"

#include <cstdio>

#include "adapters/http/response.h"
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

RedisMonitor::RedisMonitor(const redis::Persister& persister, const Bus& bus, std::string redacted_url)
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
  // tick, which is at most one tick old.
  const redis::BreakerState breaker = persister_.breaker_state();
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
  if (!health_.connected || health_.breaker == redis::BreakerState::open || fill >= kUnhealthyFill) {
    return HealthStatus::unhealthy;
  }
  if (health_.breaker == redis::BreakerState::half_open || fill >= kDegradedFill || persister_lag() >= kDegradedLag) {
    return HealthStatus::degraded;
  }
  return HealthStatus::healthy;
}

std::string RedisMonitor::health_json(std::size_t stream_clients, std::size_t pending_publishes) const {
  char ts[kIsoTimestampSize];
  format_iso_timestamp(now_ns(), ts);
  char fill[32];
  std::snprintf(fill, sizeof fill, "%.6f", ring_fill());
  std::string out = "{\"status\":\"";
  out += to_string(status());
  out += "\",\"timestamp\":\"";
  out.append(ts, sizeof ts);
  out += "\",\"service\":\"event_service\",\"redis\":{\"connected\":";
  out += health_.connected ? "true" : "false";
  out += ",\"breaker\":\"";
  out += redis::to_string(persister_.breaker_state());
  out += "\",\"last_error\":";
  out += health_.last_error.empty() ? std::string("null") : http::json_quote(health_.last_error);
  out += ",\"reply_timeouts\":" + std::to_string(health_.reply_timeouts);
  out += ",\"failures\":" + std::to_string(health_.failures);
  out += "},\"persister\":{\"persisted\":" + std::to_string(health_.persisted);
  out += ",\"buffered\":" + std::to_string(health_.buffered);
  out += ",\"lag\":" + std::to_string(persister_lag());
  out += ",\"pending_publishes\":" + std::to_string(pending_publishes);
  out += "},\"ring\":{\"fill\":";
  out += fill;
  out += ",\"fill_bytes\":" + std::to_string(bus_.ring().fill_bytes());
  out += ",\"capacity_bytes\":" + std::to_string(bus_.ring().capacity());
  out += "},\"stream_clients\":" + std::to_string(stream_clients) + "}";
  return out;
}

}  // namespace tradpal::eventd
