// engine/detail/json_value.h
//
// The full check of one On-Demand value, for the library's own code and the
// tools built with it. Not installed: its parameter's type depends on the
// simdjson kernel the caller was compiled for (see json.h), so it may only be
// called from code built with the same flags as the library.
#pragma once

#include <simdjson.h>

namespace tradpal::detail {

// Reads every value below `value`; false at the first invalid one, or past
// kMaxJsonDepth levels.
[[nodiscard]] bool is_valid_json_value(simdjson::ondemand::value value, int depth = 0) noexcept;

}  // namespace tradpal::detail
