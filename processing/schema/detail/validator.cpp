// processing/schema/detail/validator.cpp
#include "processing/schema/detail/validator.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "processing/schema/detail/instance.h"
#include "processing/schema/detail/json_equal.h"
#include "processing/schema/detail/json_number.h"
#include "processing/schema/detail/utf8.h"

namespace tradpal::schema::detail {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// The report side of the walk: where we are in the instance, and the
// first failure once found. Absent (nullptr) in the yes-or-no walk.
struct Reporter {
  std::vector<PathSegment> path;
  ValidationError error;
  bool failed = false;

  void fail(const Node& node, std::string_view keyword, std::string message) {
    if (failed) return;
    failed = true;
    error.instance_path = path;
    error.schema_path = node.path;
    if (!keyword.empty()) {
      error.schema_path += '/';
      error.schema_path += keyword;
    }
    error.message = std::move(message);
  }
};

std::string type_names(std::uint8_t types) {
  static constexpr std::pair<std::uint8_t, std::string_view> kNames[] = {
      {kTypeNull, "null"},     {kTypeBoolean, "boolean"}, {kTypeObject, "object"},   {kTypeArray, "array"},
      {kTypeNumber, "number"}, {kTypeString, "string"},   {kTypeInteger, "integer"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((types & bit) == 0) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out;
}

std::string in_quotes(std::string_view text) {
  std::string out = "'";
  out += text;
  out += '\'';
  return out;
}

std::string with_number(std::string_view prefix, const JsonNumber& n) {
  std::string out(prefix);
  append_number(out, n);
  return out;
}

bool type_matches(std::uint8_t types, const Instance& v) noexcept {
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return (types & kTypeNull) != 0;
    case element_type::BOOL:
      return (types & kTypeBoolean) != 0;
    case element_type::OBJECT:
      return (types & kTypeObject) != 0;
    case element_type::ARRAY:
      return (types & kTypeArray) != 0;
    case element_type::STRING:
      return (types & kTypeString) != 0;
    case element_type::INT64:
    case element_type::UINT64:
      return (types & (kTypeNumber | kTypeInteger)) != 0;
    case element_type::DOUBLE:
      return (types & kTypeNumber) != 0 || ((types & kTypeInteger) != 0 && is_integral(JsonNumber::from(v.element())));
  }
  return false;
}

// Path segments are built only when reporting: the yes-or-no walk passes
// keys as string_views and never copies them.
PathSegment segment_of(std::string_view key) { return PathSegment(std::in_place_type<std::string>, key); }
PathSegment segment_of(std::uint64_t index) { return PathSegment(index); }

bool matches(const Regex& regex, std::string_view text) noexcept {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *regex.re2);
}

template <bool kReport>
class Walk {
 public:
  Walk(const CompiledSchema& schema, Reporter* reporter) : schema_(schema), r_(reporter) {}

  bool node(NodeIndex index, const Instance& v) {
    const Node& n = schema_.resolve(index);
    if (n.always_false) {
      if constexpr (kReport) r_->fail(n, "", "no value is allowed here (the schema is false)");
      return false;
    }
    if (n.types != 0 && !type_matches(n.types, v)) {
      if constexpr (kReport) r_->fail(n, "type", "must be of type " + type_names(n.types));
      return false;
    }
    if (n.has_enum && std::none_of(n.enum_values.begin(), n.enum_values.end(),
                                   [&](element allowed) { return json_equal(v, allowed); })) {
      if constexpr (kReport) r_->fail(n, "enum", "is not one of the allowed values");
      return false;
    }
    if (n.const_value && !json_equal(v, *n.const_value)) {
      if constexpr (kReport) r_->fail(n, "const", "must be equal to the constant");
      return false;
    }
    switch (v.type()) {
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        if (n.number_checks && !number(n, JsonNumber::from(v.element()))) return false;
        break;
      case element_type::STRING:
        if (n.string_checks && !string(n, v.string())) return false;
        break;
      case element_type::ARRAY:
        if (!array(n, v.element().get_array().value_unsafe())) return false;
        break;
      case element_type::OBJECT:
        if (!object(n, v)) return false;
        break;
      default:
        break;
    }
    return !n.combinator_checks || combinators(n, v);
  }

 private:
  bool number(const Node& n, const JsonNumber& x) {
    if (n.minimum && compare(x, *n.minimum) < 0) {
      if constexpr (kReport) r_->fail(n, "minimum", with_number("must be >= ", *n.minimum));
      return false;
    }
    if (n.exclusive_minimum && compare(x, *n.exclusive_minimum) <= 0) {
      if constexpr (kReport) r_->fail(n, "exclusiveMinimum", with_number("must be > ", *n.exclusive_minimum));
      return false;
    }
    if (n.maximum && compare(x, *n.maximum) > 0) {
      if constexpr (kReport) r_->fail(n, "maximum", with_number("must be <= ", *n.maximum));
      return false;
    }
    if (n.exclusive_maximum && compare(x, *n.exclusive_maximum) >= 0) {
      if constexpr (kReport) r_->fail(n, "exclusiveMaximum", with_number("must be < ", *n.exclusive_maximum));
      return false;
    }
    if (n.multiple_of && !is_multiple_of(x, *n.multiple_of)) {
      if constexpr (kReport) r_->fail(n, "multipleOf", with_number("must be a multiple of ", *n.multiple_of));
      return false;
    }
    return true;
  }

  bool string(const Node& n, std::string_view s) {
    // A code point is 1 to 4 bytes: the byte size often decides both
    // bounds without counting.
    const bool decided = (!n.min_length || s.size() / 4 >= *n.min_length) && (!n.max_length || s.size() <= *n.max_length);
    if (!decided && (n.min_length || n.max_length)) {
      const std::size_t length = code_point_count(s);
      if (n.min_length && length < *n.min_length) {
        if constexpr (kReport) {
          r_->fail(n, "minLength", "must have at least " + std::to_string(*n.min_length) + " characters");
        }
        return false;
      }
      if (n.max_length && length > *n.max_length) {
        if constexpr (kReport) {
          r_->fail(n, "maxLength", "must have at most " + std::to_string(*n.max_length) + " characters");
        }
        return false;
      }
    }
    if (n.pattern && !matches(*n.pattern, s)) {
      if constexpr (kReport) r_->fail(n, "pattern", "must match pattern " + in_quotes(n.pattern->source));
      return false;
    }
    return true;
  }

  // Validates `v` against `child` one level down, at `segment`.
  template <typename Segment>
  bool below(NodeIndex child, const Instance& v, Segment segment) {
    if constexpr (kReport) r_->path.push_back(segment_of(segment));
    const bool ok = node(child, v);
    if constexpr (kReport) {
      if (ok) r_->path.pop_back();
    }
    return ok;
  }

  bool array(const Node& n, simdjson::dom::array items) {
    const std::size_t size = items.size();
    if (n.min_items && size < *n.min_items) {
      if constexpr (kReport) r_->fail(n, "minItems", "must have at least " + std::to_string(*n.min_items) + " items");
      return false;
    }
    if (n.max_items && size > *n.max_items) {
      if constexpr (kReport) r_->fail(n, "maxItems", "must have at most " + std::to_string(*n.max_items) + " items");
      return false;
    }
    const bool per_item = n.items_is_tuple || n.items != kNoNode;
    std::uint64_t i = 0;
    for (auto it = per_item ? items.begin() : items.end(); it != items.end(); ++it) {
      const element item = *it;
      NodeIndex child = kNoNode;
      bool additional = false;
      if (!n.items_is_tuple) {
        child = n.items;
      } else if (i < n.tuple_items.size()) {
        child = n.tuple_items[i];
      } else {
        child = n.additional_items;
        additional = true;
      }
      if (child != kNoNode) {
        if (additional && schema_.resolve(child).always_false) {
          if constexpr (kReport) {
            r_->path.push_back(segment_of(i));
            r_->fail(n, "additionalItems",
                     "additional item is not allowed (at most " + std::to_string(n.tuple_items.size()) + " items)");
          }
          return false;
        }
        if (!below(child, Instance(item), i)) return false;
      }
      ++i;
    }
    if (n.unique_items && !unique(n, items)) return false;
    if (n.contains != kNoNode) {
      const bool found =
          std::any_of(items.begin(), items.end(), [&](element item) { return probe(n.contains, Instance(item)); });
      if (!found) {
        if constexpr (kReport) r_->fail(n, "contains", "must contain an item valid against 'contains'");
        return false;
      }
    }
    return true;
  }

  // Pairwise: O(n^2) comparisons but no allocation, which suits
  // payload-sized arrays.
  bool unique(const Node& n, simdjson::dom::array items) {
    std::uint64_t i = 0;
    for (auto a = items.begin(); a != items.end(); ++a, ++i) {
      auto b = a;
      std::uint64_t j = i + 1;
      for (++b; b != items.end(); ++b, ++j) {
        if (json_equal(*a, *b)) {
          if constexpr (kReport) {
            r_->fail(n, "uniqueItems",
                     "must not contain duplicate items (items " + std::to_string(i) + " and " + std::to_string(j) +
                         " are equal)");
          }
          return false;
        }
      }
    }
    return true;
  }

  const PropertyRule* property(const Node& n, std::string_view key) const noexcept {
    // A payload's handful of properties: one hash of the key, then integer
    // compares; the names are compared only on a hash match.
    if (n.properties.size() <= 16) {
      const std::uint64_t h = Node::key_hash(key);
      for (std::size_t i = 0; i < n.property_hashes.size(); ++i) {
        if (n.property_hashes[i] == h && n.properties[i].name == key) return &n.properties[i];
      }
      return nullptr;
    }
    const auto found = std::lower_bound(n.properties.begin(), n.properties.end(), key,
                                        [](const PropertyRule& rule, std::string_view k) { return rule.name.compare(k) < 0; });
    return found != n.properties.end() && found->name == key ? &*found : nullptr;
  }

  // A missing property is reported at its would-be place, as FastAPI does.
  bool missing(const Node& n, std::string_view keyword, std::string_view name, std::string_view because_of) {
    if constexpr (kReport) {
      r_->path.push_back(segment_of(name));
      if (because_of.empty()) {
        r_->fail(n, keyword, "required property " + in_quotes(name) + " is missing");
      } else {
        r_->fail(n, keyword,
                 "property " + in_quotes(name) + " is required when " + in_quotes(because_of) + " is present");
      }
    }
    return false;
  }

  bool object(const Node& n, const Instance& v) {
    const simdjson::dom::object members = v.element().get_object().value_unsafe();
    for (const std::string& name : n.required) {
      if (members.at_key(name).error() != simdjson::SUCCESS) return missing(n, "required", name, {});
    }
    if (n.min_properties || n.max_properties) {
      const std::size_t size = members.size();
      if (n.min_properties && size < *n.min_properties) {
        if constexpr (kReport) {
          r_->fail(n, "minProperties", "must have at least " + std::to_string(*n.min_properties) + " properties");
        }
        return false;
      }
      if (n.max_properties && size > *n.max_properties) {
        if constexpr (kReport) {
          r_->fail(n, "maxProperties", "must have at most " + std::to_string(*n.max_properties) + " properties");
        }
        return false;
      }
    }
    const bool per_member = !n.properties.empty() || !n.pattern_properties.empty() ||
                            n.additional_properties != kNoNode || n.property_names != kNoNode;
    if (per_member) {
      for (const simdjson::dom::key_value_pair member : members) {
        if (!member_ok(n, member.key, member.value)) return false;
      }
    }
    for (const Dependency& dependency : n.dependencies) {
      if (members.at_key(dependency.name).error() != simdjson::SUCCESS) continue;
      for (const std::string& name : dependency.required) {
        if (members.at_key(name).error() != simdjson::SUCCESS) {
          return missing(n, "dependencies", name, dependency.name);
        }
      }
      if (dependency.node != kNoNode && !node(dependency.node, v)) return false;
    }
    return true;
  }

  bool member_ok(const Node& n, std::string_view key, element value) {
    if (n.property_names != kNoNode) {
      bool ok = false;
      if constexpr (kReport) {
        r_->path.push_back(segment_of(key));
        ok = Walk<false>(schema_, nullptr).node(n.property_names, Instance::key(key));
        if (!ok)
          r_->fail(n, "propertyNames", "property name " + in_quotes(key) + " is not valid against 'propertyNames'");
        r_->path.pop_back();
      } else {
        ok = node(n.property_names, Instance::key(key));
      }
      if (!ok) return false;
    }
    bool matched = false;
    if (const PropertyRule* rule = property(n, key)) {
      matched = true;
      if (!below(rule->node, Instance(value), key)) return false;
    }
    for (const PatternRule& rule : n.pattern_properties) {
      if (!matches(rule.regex, key)) continue;
      matched = true;
      if (!below(rule.node, Instance(value), key)) return false;
    }
    if (matched || n.additional_properties == kNoNode) return true;
    if (schema_.resolve(n.additional_properties).always_false) {
      if constexpr (kReport) {
        r_->path.push_back(segment_of(key));
        r_->fail(n, "additionalProperties", "additional property " + in_quotes(key) + " is not allowed");
      }
      return false;
    }
    return below(n.additional_properties, Instance(value), key);
  }

  bool probe(NodeIndex index, const Instance& v) { return Walk<false>(schema_, nullptr).node(index, v); }

  bool combinators(const Node& n, const Instance& v) {
    for (const NodeIndex child : n.all_of) {
      if (!node(child, v)) return false;
    }
    if (!n.any_of.empty() &&
        std::none_of(n.any_of.begin(), n.any_of.end(), [&](NodeIndex child) { return probe(child, v); })) {
      if constexpr (kReport) r_->fail(n, "anyOf", "must be valid against at least one schema in 'anyOf'");
      return false;
    }
    if (!n.one_of.empty()) {
      std::size_t first = 0;
      std::size_t valid = 0;
      for (std::size_t i = 0; i < n.one_of.size() && valid < 2; ++i) {
        if (!probe(n.one_of[i], v)) continue;
        if (valid++ == 0) {
          first = i;
        } else if constexpr (kReport) {
          r_->fail(n, "oneOf",
                   "must be valid against exactly one schema in 'oneOf', but is valid against schemas " +
                       std::to_string(first) + " and " + std::to_string(i));
        }
      }
      if (valid != 1) {
        if constexpr (kReport)
          r_->fail(n, "oneOf", "must be valid against exactly one schema in 'oneOf', but is valid against none");
        return false;
      }
    }
    if (n.not_schema != kNoNode && probe(n.not_schema, v)) {
      if constexpr (kReport) r_->fail(n, "not", "must not be valid against the schema in 'not'");
      return false;
    }
    // Without then or else, `if` decides nothing: skip evaluating it.
    if (n.if_schema != kNoNode && (n.then_schema != kNoNode || n.else_schema != kNoNode)) {
      const NodeIndex branch = probe(n.if_schema, v) ? n.then_schema : n.else_schema;
      if (branch != kNoNode && !node(branch, v)) return false;
    }
    return true;
  }

  const CompiledSchema& schema_;
  Reporter* r_;
};

}  // namespace

bool is_valid(const CompiledSchema& schema, simdjson::dom::element instance) noexcept {
  return Walk<false>(schema, nullptr).node(schema.root, Instance(instance));
}

ValidationError first_error(const CompiledSchema& schema, simdjson::dom::element instance) {
  Reporter reporter;
  if (Walk<true>(schema, &reporter).node(schema.root, Instance(instance)) || !reporter.failed) {
    // Unreachable when the precondition holds; say so rather than lie.
    reporter.error = ValidationError{{}, {}, "is valid"};
  }
  return std::move(reporter.error);
}

}  // namespace tradpal::schema::detail
