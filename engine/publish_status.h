// engine/publish_status.h
//
// PublishStatus: what a non-blocking publish or claim reports. Returned by
// value from hot-path calls that never throw; callers must look at it.
#pragma once

#include <cstdint>
#include <string_view>

namespace tradpal {

enum class [[nodiscard]] PublishStatus : std::uint8_t {
  ok = 0,              // the event is in the ring (claim: the space is yours)
  back_pressured = 1,  // a gating subscriber (or a lossy one inside its handler)
                       // has not consumed far enough; nothing was written, try again
  too_large = 2,       // source + data + metadata exceed the ring's max_event_size
  closed = 3,          // the bus was closed; nothing more will be accepted
  invalid = 4,         // data or metadata is not a JSON object, or source is too long
  timed_out = 5,       // publish_until/publish_for: still back-pressured at the deadline; nothing written
};

[[nodiscard]] constexpr std::string_view to_string(PublishStatus s) noexcept {
  switch (s) {
    case PublishStatus::ok: return "ok";
    case PublishStatus::back_pressured: return "back_pressured";
    case PublishStatus::too_large: return "too_large";
    case PublishStatus::closed: return "closed";
    case PublishStatus::invalid: return "invalid";
    case PublishStatus::timed_out: return "timed_out";
  }
  return "unknown";
}

}  // namespace tradpal
