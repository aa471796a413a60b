// processing/routing/condition.h
//
// Condition: one compiled `when` of a routing rule. The language (README,
// "Routing rules"), as JSON:
//
//   {"all": [c, ...]}   {"any": [c, ...]}   {"not": c}
//   {"field": F, OP: operand}    exactly one OP per leaf:
//     eq, ne                a string, number, boolean or null
//     lt, lte, gt, gte      a number (numeric order) or a string (byte order)
//     in                    a non-empty array of such scalars
//     regex                 an RE2 pattern, searched anywhere in a string
//     exists                true or false
//   F: "type" | "source" | "event_id" | "data[.key...]" | "metadata[.key...]"
//      or a JSON Pointer from the event's root ("/data/a.b/0") for keys that
//      hold a dot; a numeric key indexes an array.
//
// A leaf on a field that is absent (or of another kind than its operand)
// is false, except `exists: false`; `ne` is "present and different". Numbers
// compare as doubles, so 1 equals 1.0. Operands of `type` must name one of
// the 16 event types: a typo is refused at load, not silently never true.
//
// Compiling throws RuleError naming the place. A compiled Condition is
// immutable: any number of threads may evaluate it at once, each with its
// own EventDocuments. Evaluation is noexcept and allocates nothing beyond
// what the documents' parsers keep.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "processing/routing/routed_event.h"

namespace re2 {
class RE2;
}

namespace tradpal::routing {

class Condition {
 public:
  // `where` prefixes error places ("rules[0].when").
  [[nodiscard]] static Condition compile(simdjson::dom::element spec, const std::string& where);

  Condition(Condition&&) noexcept;
  Condition& operator=(Condition&&) noexcept;
  ~Condition();

  [[nodiscard]] bool evaluate(EventDocuments& event) const noexcept;
  // Whether any leaf looks inside data or metadata (if not, matching never parses).
  [[nodiscard]] bool reads_documents() const noexcept;

  struct Node;  // the compiled tree's node, private to condition.cpp

 private:
  Condition();
  std::vector<Node> nodes_;  // nodes_[0] is the root
};

}  // namespace tradpal::routing
