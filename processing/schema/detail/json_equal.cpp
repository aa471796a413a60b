// processing/schema/detail/json_equal.cpp
#include "processing/schema/detail/json_equal.h"

#include "processing/schema/detail/json_number.h"

namespace tradpal::schema::detail {
namespace {

using simdjson::dom::element_type;

bool is_number(element_type t) noexcept {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

}  // namespace

bool json_equal(simdjson::dom::element a, simdjson::dom::element b) noexcept {
  const element_type ta = a.type();
  const element_type tb = b.type();
  if (is_number(ta) && is_number(tb)) return compare(JsonNumber::from(a), JsonNumber::from(b)) == 0;
  if (ta != tb) return false;
  switch (ta) {
    case element_type::STRING:
      return a.get_string().value_unsafe() == b.get_string().value_unsafe();
    case element_type::BOOL:
      return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
      return true;
    case element_type::ARRAY: {
      const simdjson::dom::array xs = a.get_array().value_unsafe();
      const simdjson::dom::array ys = b.get_array().value_unsafe();
      if (xs.size() != ys.size()) return false;
      auto y = ys.begin();
      for (simdjson::dom::element x : xs) {
        if (!json_equal(x, *y)) return false;
        ++y;
      }
      return true;
    }
    case element_type::OBJECT: {
      const simdjson::dom::object xs = a.get_object().value_unsafe();
      const simdjson::dom::object ys = b.get_object().value_unsafe();
      // Same member count and every member of one found equal in the
      // other: with keys unique, the two objects are the same set.
      if (xs.size() != ys.size()) return false;
      for (const simdjson::dom::key_value_pair member : xs) {
        simdjson::dom::element other;
        if (ys.at_key(member.key).get(other) != simdjson::SUCCESS) return false;
        if (!json_equal(member.value, other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

bool json_equal(const Instance& a, simdjson::dom::element b) noexcept {
  if (!a.is_key()) return json_equal(a.element(), b);
  return b.type() == element_type::STRING && b.get_string().value_unsafe() == a.string();
}

}  // namespace tradpal::schema::detail
