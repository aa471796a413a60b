#include "processing/routing/event_filter.h"

#include "engine/event_type.h"
#include "processing/routing/rule_error.h"

namespace tradpal::routing {
namespace {

std::size_t index_of(const RuleSet& rules, std::string_view name) {
  const std::size_t i = rules.find(name);
  if (i == rules.size()) throw RuleError("", "no rule named '" + std::string(name) + "'");
  return i;
}

}  // namespace

EventFilter::EventFilter(std::shared_ptr<const RuleSet> rules, std::string_view rule)
    : rules_(std::move(rules)), rule_(index_of(*rules_, rule)), matcher_(*rules_) {}

EventFilter EventFilter::from_condition(std::string_view condition_json) {
  // A one-rule set around the condition: the rule's action is never used.
  std::string doc = R"({"rules": [{"name": "filter", "tag": {"filter": true}, "when": )";
  doc += condition_json;
  doc += "}]}";
  return EventFilter(std::make_shared<const RuleSet>(RuleSet::parse(doc, "condition")), "filter");
}

bool EventFilter::operator()(const EventView& view) noexcept {
  char id[36];
  view.event_id().format(id);
  RoutedEvent e;
  e.type = to_string(view.type());
  e.source = view.source();
  e.event_id = std::string_view(id, sizeof id);
  e.data = view.data();
  e.data_capacity = view.data_capacity();
  e.metadata = view.metadata();
  e.metadata_capacity = view.metadata_capacity();
  return matcher_.matches(e, rule_);
}

}  // namespace tradpal::routing
