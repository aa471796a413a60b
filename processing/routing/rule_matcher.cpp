#include "processing/routing/rule_matcher.h"

#include <algorithm>

namespace tradpal::routing {

RuleMatcher::RuleMatcher(const RuleSet& rules) : rules_(&rules) {
  matched_.reserve(rules.size());
  targets_.reserve(rules.targets().size());
  std::size_t tags = 0;
  for (const Rule& r : rules.rules()) tags += r.tags.size();
  tags_.reserve(tags);
}

bool RuleMatcher::matches(const RoutedEvent& event, std::size_t rule) noexcept {
  docs_.reset(event);
  const Rule& r = rules_->rules()[rule];
  return !r.when || r.when->evaluate(docs_);
}

std::span<const std::uint32_t> RuleMatcher::match(const RoutedEvent& event) noexcept {
  docs_.reset(event);
  matched_.clear();
  targets_.clear();
  tags_.clear();
  const std::vector<Rule>& rules = rules_->rules();
  for (std::uint32_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    if (r.when && !r.when->evaluate(docs_)) continue;
    matched_.push_back(i);
    for (const std::string& t : r.copy_to) {
      if (std::none_of(targets_.begin(), targets_.end(), [&](const std::string* s) { return *s == t; })) {
        targets_.push_back(&t);
      }
    }
    for (const auto& tag : r.tags) {
      // A later rule's value for the same key wins.
      const auto same = std::find_if(tags_.begin(), tags_.end(), [&](const auto* t) { return t->first == tag.first; });
      if (same != tags_.end()) {
        *same = &tag;
      } else {
        tags_.push_back(&tag);
      }
    }
  }
  return matched_;
}

}  // namespace tradpal::routing
