// Fuzz harness: the routing rule language. The first byte picks what the
// rest is:
//   0  a JSON rules file: it loads or is refused with a RuleError (nothing
//      else may escape); when it loads, its rules are matched against a
//      fixed event, which must neither crash nor allocate past its buffers;
//   1  a YAML rules file, through yaml_to_json first, likewise;
//   2+ an event's data object (any bytes), matched by fixed rules that look
//      deep into data, with and without the padding a ring frame gives.
// Beyond not crashing: matching the same event twice gives the same rules
// (the matcher keeps no state between events but its buffers).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "processing/routing/metadata_tags.h"
#include "processing/routing/rule_error.h"
#include "processing/routing/rule_matcher.h"
#include "processing/routing/rule_set.h"
#include "processing/routing/yaml_to_json.h"

namespace {

using namespace tradpal::routing;

const RuleSet& fixed_rules() {
  static const RuleSet rules = RuleSet::parse(R"json({"rules": [
    {"name": "a", "copy_to": "x", "when": {"all": [{"field": "data.price", "gt": 10},
                                                   {"field": "data.legs.0.qty", "lte": 5}]}},
    {"name": "b", "copy_to": ["y", "x"], "tag": {"k": [1, {"z": null}]},
     "when": {"any": [{"field": "data.symbol", "regex": "^(BTC|ETH)"}, {"field": "/data/a.b/~1c", "exists": true},
                      {"not": {"field": "data.s", "in": ["p", 1, true, null]}}]}},
    {"name": "c", "tag": {"seen": true}}]})json");
  return rules;
}

std::vector<std::uint32_t> matched(RuleMatcher& m, const RoutedEvent& e) {
  const auto r = m.match(e);
  return {r.begin(), r.end()};
}

void check_match(const RuleSet& rules, std::string_view data, std::size_t capacity) {
  RuleMatcher m(rules);
  const RoutedEvent e{"market_data_update", "data_service", "8c2f4ad5-6f0e-4a43-a4ac-2f4cc8a3f0b1",
                      data, R"({"m": 1})", capacity, 0};
  const auto first = matched(m, e);
  if (matched(m, e) != first) std::abort();
  try {
    (void)tagged_metadata(R"({"m": 1, "k": 2})", m.tags());
  } catch (const std::invalid_argument&) {
    std::abort();  // the metadata here is an object: tagging it must work
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  if (bytes[0] == 0 || bytes[0] == 1) {
    try {
      const std::string json = bytes[0] == 0 ? std::string(text) : yaml_to_json(text, "fuzz.yaml");
      const RuleSet rules = RuleSet::parse(json, "fuzz");
      check_match(rules, R"({"price": 12, "legs": [{"qty": 1}], "symbol": "BTCUSDT"})", 0);
    } catch (const RuleError&) {
    }
    return 0;
  }
  // Unpadded (copied into the matcher's buffer), then padded in place.
  check_match(fixed_rules(), text, text.size());
  std::string padded(text);
  padded.append(64, '\0');
  check_match(fixed_rules(), std::string_view(padded.data(), text.size()), padded.size());
  return 0;
}
