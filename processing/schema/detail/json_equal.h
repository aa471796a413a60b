// processing/schema/detail/json_equal.h
//
// JSON equality as enum, const and uniqueItems define it: numbers by
// mathematical value (1 == 1.0, whatever simdjson's kind), objects as
// unordered sets of members, arrays element by element, no type coercion
// (1 != true). Allocation-free: objects compare by lookup, O(n^2) in the
// member count, which suits payload-sized values. Internal; any thread.
#pragma once

#include <simdjson.h>

#include "processing/schema/detail/instance.h"

namespace tradpal::schema::detail {

[[nodiscard]] bool json_equal(simdjson::dom::element a, simdjson::dom::element b) noexcept;
[[nodiscard]] bool json_equal(const Instance& a, simdjson::dom::element b) noexcept;

}  // namespace tradpal::schema::detail
