// engine/event_type.h
//
// EventType: the 16 TradPal event types and their wire names, in the order
// the Python service lists them. Any thread may call these functions; they
// never allocate and never throw. An unknown name is an error status, not an
// exception, so decoding untrusted input stays on the fast path.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tradpal {

enum class EventType : std::uint8_t {
  market_data_update = 0,
  trading_signal,
  order_executed,
  portfolio_update,
  risk_alert,
  system_health,
  ml_model_update,
  backtest_complete,
  alternative_data_update,
  sentiment_data_update,
  onchain_data_update,
  economic_data_update,
  market_regime_change,
  rl_model_update,
  rl_action_taken,
  feature_vector_update,
};

inline constexpr std::size_t kEventTypeCount = 16;

// Names exactly as they appear in the `event_type` key of the stream entries.
inline constexpr std::array<std::string_view, kEventTypeCount> kEventTypeNames = {
    "market_data_update",    "trading_signal",       "order_executed",
    "portfolio_update",      "risk_alert",           "system_health",
    "ml_model_update",       "backtest_complete",    "alternative_data_update",
    "sentiment_data_update", "onchain_data_update",  "economic_data_update",
    "market_regime_change",  "rl_model_update",      "rl_action_taken",
    "feature_vector_update",
};

[[nodiscard]] constexpr std::string_view to_string(EventType type) noexcept {
  return kEventTypeNames[static_cast<std::size_t>(type)];
}

[[nodiscard]] constexpr std::size_t to_index(EventType type) noexcept {
  return static_cast<std::size_t>(type);
}

// Returns the type named `name`, or std::nullopt for any other string
// (including different case or surrounding spaces: Python's Enum is exact).
[[nodiscard]] constexpr std::optional<EventType> parse_event_type(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    if (kEventTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

// A set of event types as a bit mask: bit i stands for EventType(i).
// Subscribers filter with it; the empty set means "every type".
class EventTypeSet {
 public:
  constexpr EventTypeSet() noexcept = default;
  constexpr EventTypeSet(std::initializer_list<EventType> types) noexcept {
    for (EventType t : types) add(t);
  }
  [[nodiscard]] static constexpr EventTypeSet all() noexcept {
    EventTypeSet s;
    s.bits_ = (1u << kEventTypeCount) - 1;
    return s;
  }
  constexpr EventTypeSet& add(EventType t) noexcept {
    bits_ |= 1u << to_index(t);
    return *this;
  }
  [[nodiscard]] constexpr bool contains(EventType t) const noexcept {
    return (bits_ & (1u << to_index(t))) != 0;
  }
  [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }
  // As a filter: the empty set lets every type through.
  [[nodiscard]] constexpr bool matches(EventType t) const noexcept { return empty() || contains(t); }
  [[nodiscard]] constexpr std::uint32_t bits() const noexcept { return bits_; }

 private:
  std::uint32_t bits_ = 0;
};

}  // namespace tradpal
