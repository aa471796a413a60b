#include "adapters/redis/stream_id.h"

#include <charconv>

namespace tradpal::redis {

namespace {
std::uint64_t millis(TimestampNs t) noexcept {
  // Floor division: an end time inside a millisecond covers that millisecond.
  return t <= 0 ? 0 : static_cast<std::uint64_t>(t / 1'000'000);
}
}  // namespace

std::string start_id_for(TimestampNs t) { return std::to_string(millis(t)) + "-0"; }

std::string end_id_for(TimestampNs t) {
  if (t < 0) return "0-0";
  return std::to_string(millis(t)) + "-18446744073709551615";
}

TimestampNs id_time(const StreamId& id) noexcept { return static_cast<TimestampNs>(id.ms) * 1'000'000; }

}  // namespace tradpal::redis
