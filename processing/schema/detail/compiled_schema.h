// processing/schema/detail/compiled_schema.h
//
// CompiledSchema: what Schema::compile builds and validation walks. One
// Node per schema location (root, each subschema, each `$ref` target),
// held in one vector and linked by index, so recursive `$ref`s are just
// indexes that point back. The schema's own DOM document lives here too:
// enum and const values are elements of it. Immutable once built, so any
// number of threads may validate with it at once (RE2 matching is
// thread-safe). Internal to processing/schema.
#pragma once

#include <re2/re2.h>
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "processing/schema/detail/json_number.h"

namespace tradpal::schema::detail {

using NodeIndex = std::uint32_t;
inline constexpr NodeIndex kNoNode = std::numeric_limits<NodeIndex>::max();

// Bits of Node::types, one per draft-07 type name.
enum TypeBit : std::uint8_t {
  kTypeNull = 1U << 0U,
  kTypeBoolean = 1U << 1U,
  kTypeObject = 1U << 2U,
  kTypeArray = 1U << 3U,
  kTypeNumber = 1U << 4U,
  kTypeString = 1U << 5U,
  kTypeInteger = 1U << 6U,
};

struct Regex {
  std::string source;  // the ECMA-262 text, for messages
  std::unique_ptr<RE2> re2;
};

struct PropertyRule {
  std::string name;
  NodeIndex node = kNoNode;
};

struct PatternRule {
  Regex regex;
  NodeIndex node = kNoNode;
};

// `dependencies` member: either property names (required) or a schema (node).
struct Dependency {
  std::string name;
  std::vector<std::string> required;
  NodeIndex node = kNoNode;
};

struct Node {
  // JSON Pointer of this schema in the document: errors name
  // "<path>/<keyword>".
  std::string path;
  bool always_false = false;  // the `false` schema
  // Draft-07 ignores every sibling of `$ref`: a node with a ref is only that.
  NodeIndex ref = kNoNode;

  std::uint8_t types = 0;  // 0: any type
  bool has_enum = false;
  std::vector<simdjson::dom::element> enum_values;
  std::optional<simdjson::dom::element> const_value;

  std::optional<JsonNumber> minimum;
  std::optional<JsonNumber> maximum;
  std::optional<JsonNumber> exclusive_minimum;
  std::optional<JsonNumber> exclusive_maximum;
  std::optional<JsonNumber> multiple_of;

  std::optional<std::uint64_t> min_length;
  std::optional<std::uint64_t> max_length;
  std::optional<Regex> pattern;

  // `items` as one schema for all (items) or as a tuple (tuple_items).
  NodeIndex items = kNoNode;
  bool items_is_tuple = false;
  std::vector<NodeIndex> tuple_items;
  NodeIndex additional_items = kNoNode;  // applies only after a tuple
  NodeIndex contains = kNoNode;
  std::optional<std::uint64_t> min_items;
  std::optional<std::uint64_t> max_items;
  bool unique_items = false;

  std::vector<PropertyRule> properties;  // sorted by name, for binary search
  std::vector<PatternRule> pattern_properties;
  NodeIndex additional_properties = kNoNode;
  std::vector<std::string> required;
  std::optional<std::uint64_t> min_properties;
  std::optional<std::uint64_t> max_properties;
  std::vector<Dependency> dependencies;
  NodeIndex property_names = kNoNode;

  std::vector<NodeIndex> all_of;
  std::vector<NodeIndex> any_of;
  std::vector<NodeIndex> one_of;
  NodeIndex not_schema = kNoNode;
  NodeIndex if_schema = kNoNode;
  NodeIndex then_schema = kNoNode;
  NodeIndex else_schema = kNoNode;

  // Set by finish() once the keywords are in, so that a walk skips a whole
  // group of keywords the node does not have, and finds a property by a
  // hash compare instead of string compares.
  bool number_checks = false;      // minimum .. multipleOf
  bool string_checks = false;      // minLength, maxLength, pattern
  bool combinator_checks = false;  // allOf, anyOf, oneOf, not, if
  std::vector<std::uint64_t> property_hashes;  // key_hash(properties[i].name)

  void finish() {
    number_checks = minimum || maximum || exclusive_minimum || exclusive_maximum || multiple_of;
    string_checks = min_length || max_length || pattern;
    combinator_checks =
        !all_of.empty() || !any_of.empty() || !one_of.empty() || not_schema != kNoNode || if_schema != kNoNode;
    property_hashes.clear();
    for (const PropertyRule& p : properties) property_hashes.push_back(key_hash(p.name));
  }

  // A hash of a property name from its length and its first and last
  // bytes (two loads, two multiplies: no per-byte loop). Names with equal
  // hashes are told apart by comparing them.
  [[nodiscard]] static std::uint64_t key_hash(std::string_view key) noexcept {
    const char* p = key.data();
    const std::size_t n = key.size();
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    if (n >= 8) {
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
      std::uint32_t x = 0;
      std::uint32_t y = 0;
      std::memcpy(&x, p, 4);
      std::memcpy(&y, p + n - 4, 4);
      a = x;
      b = y;
    } else if (n > 0) {
      a = static_cast<unsigned char>(p[0]);
      b = (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8U) | static_cast<unsigned char>(p[n - 1]);
    }
    std::uint64_t h = (a * 0x9E3779B97F4A7C15ULL) ^ (b + n);
    h *= 0xC2B2AE3D27D4EB4FULL;
    return h ^ (h >> 29U);
  }
};

struct CompiledSchema {
  simdjson::dom::document document;
  std::vector<Node> nodes;
  NodeIndex root = kNoNode;

  // Follows `$ref`s to the node that does the work. Compilation refuses
  // ref cycles, so this ends.
  [[nodiscard]] const Node& resolve(NodeIndex index) const noexcept {
    const Node* node = &nodes[index];
    while (node->ref != kNoNode) node = &nodes[node->ref];
    return *node;
  }
};

}  // namespace tradpal::schema::detail
