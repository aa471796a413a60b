// processing/routing/rule_matcher.h
//
// RuleMatcher: evaluates a RuleSet's rules on events, one event at a time,
// and says which matched, what streams the event is copied to and which
// tags the copies get. One per thread (it owns the parsers of the event's
// data and metadata, each parsed at most once per event and only when a
// rule looks inside it). Allocation-free once warm: its result buffers are
// sized from the rule set at construction and the parsers keep their size.
// The RuleSet must outlive the matcher.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "processing/routing/routed_event.h"
#include "processing/routing/rule_set.h"

namespace tradpal::routing {

class RuleMatcher {
 public:
  explicit RuleMatcher(const RuleSet& rules);

  // The indices (into rules().rules()) of the rules `event` matches, in
  // rule order. Valid until the next match() on this matcher.
  [[nodiscard]] std::span<const std::uint32_t> match(const RoutedEvent& event) noexcept;

  // Whether `event` matches the one rule (index < rules().size()).
  [[nodiscard]] bool matches(const RoutedEvent& event, std::size_t rule) noexcept;

  // For the last match(): each target stream once, in the order of the
  // rules that name it; and the tags to set on the copies (each key once,
  // the value of the last matching rule that sets it).
  [[nodiscard]] std::span<const std::string* const> targets() const noexcept { return targets_; }
  [[nodiscard]] std::span<const std::pair<std::string, std::string>* const> tags() const noexcept { return tags_; }

  [[nodiscard]] const RuleSet& rules() const noexcept { return *rules_; }

 private:
  const RuleSet* rules_;
  EventDocuments docs_;
  std::vector<std::uint32_t> matched_;
  std::vector<const std::string*> targets_;
  std::vector<const std::pair<std::string, std::string>*> tags_;
};

}  // namespace tradpal::routing
