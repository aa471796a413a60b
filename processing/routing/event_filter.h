// processing/routing/event_filter.h
//
// EventFilter: the rule language as an in-process subscription predicate.
// It evaluates one rule's condition on a bus frame where it stands: type,
// source and id from the frame header, data and metadata parsed in place
// from the ring (the frame keeps simdjson's padding), nothing copied.
//
//   auto rules = std::make_shared<const RuleSet>(RuleSet::load_file("rules.json"));
//   routing::EventFilter big(rules, "large_orders");
//   sub.poll(routing::when(big, [&](const EventView& e, bool) { ... }));
//
// One filter per subscriber thread (it owns parsers); allocation-free once
// its parsers have seen an event as large. Matching is noexcept.
#pragma once

#include <memory>
#include <utility>
#include <string_view>

#include "engine/event_view.h"
#include "processing/routing/rule_matcher.h"
#include "processing/routing/rule_set.h"

namespace tradpal::routing {

class EventFilter {
 public:
  // The rule named `rule` of `rules`; throws RuleError when there is none.
  EventFilter(std::shared_ptr<const RuleSet> rules, std::string_view rule);
  // A bare condition ({"field": ..., "eq": ...} or all/any/not), for a
  // filter without a rules file. Throws RuleError.
  [[nodiscard]] static EventFilter from_condition(std::string_view condition_json);

  [[nodiscard]] bool operator()(const EventView& view) noexcept;

 private:
  std::shared_ptr<const RuleSet> rules_;
  std::size_t rule_;
  RuleMatcher matcher_;
};

// A poll handler that passes to `handler(view, end_of_batch)` only the
// events `filter` accepts. end_of_batch is the ring's: when the batch's last
// event is filtered out, the handler does not see the batch end. `filter`
// is held by reference and must outlive the returned handler.
template <typename Handler>
[[nodiscard]] auto when(EventFilter& filter, Handler&& handler) {
  return [&filter, h = std::forward<Handler>(handler)](const EventView& view, bool end_of_batch) mutable {
    if (filter(view)) h(view, end_of_batch);
  };
}

}  // namespace tradpal::routing
