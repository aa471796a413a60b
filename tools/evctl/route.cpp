#include "tools/evctl/route.h"

#include <cstdio>

#include "engine/event_type.h"
#include "engine/json.h"
#include "engine/timestamp.h"
#include "processing/routing/rule_error.h"
#include "processing/routing/rule_matcher.h"

namespace tradpal::evctl {

std::unique_ptr<routing::RuleSet> load_rules_for_dry_run(const std::string& path) {
  try {
    return std::make_unique<routing::RuleSet>(routing::RuleSet::load_file(path));
  } catch (const routing::RuleError& e) {
    std::fprintf(stderr, "evctl: %s\n", e.what());
    return nullptr;
  }
}

int dry_run(const routing::RuleSet& rules, const std::vector<Event>& events, Format format) {
  routing::RuleMatcher matcher(rules);
  std::vector<std::size_t> per_rule(rules.size(), 0);
  std::size_t routed = 0;
  std::vector<std::vector<std::string>> rows;
  for (const Event& e : events) {
    const std::string id = e.event_id.to_string();
    const std::string message_id = e.stream_id ? e.stream_id->to_string() : "";
    routing::RoutedEvent re{to_string(e.type), e.source, id, e.data, e.metadata};
    const auto matched = matcher.match(re);
    for (std::uint32_t m : matched) ++per_rule[m];
    if (!matcher.targets().empty()) ++routed;
    if (format == Format::json) {
      std::string out = "{\"message_id\": ";
      append_quoted(out, message_id);
      out += ", \"event_id\": \"" + id + "\", \"event_type\": \"" + std::string(to_string(e.type)) + "\", \"rules\": [";
      for (std::size_t i = 0; i < matched.size(); ++i) {
        if (i > 0) out += ", ";
        append_quoted(out, rules.rules()[matched[i]].name);
      }
      out += "], \"copy_to\": [";
      for (std::size_t i = 0; i < matcher.targets().size(); ++i) {
        if (i > 0) out += ", ";
        append_quoted(out, *matcher.targets()[i]);
      }
      out += "], \"tags\": {";
      for (std::size_t i = 0; i < matcher.tags().size(); ++i) {
        if (i > 0) out += ", ";
        append_quoted(out, matcher.tags()[i]->first);
        out += ": " + matcher.tags()[i]->second;
      }
      out += "}}\n";
      std::fputs(out.c_str(), stdout);
      continue;
    }
    std::string names, targets, tags;
    for (std::uint32_t m : matched) names += (names.empty() ? "" : ",") + rules.rules()[m].name;
    for (const std::string* t : matcher.targets()) targets += (targets.empty() ? "" : ",") + *t;
    for (const auto* t : matcher.tags()) tags += (tags.empty() ? "" : " ") + t->first + "=" + t->second;
    rows.push_back({message_id.empty() ? "-" : message_id, std::string(to_string(e.type)), names.empty() ? "-" : names,
                    targets.empty() ? "-" : targets, tags.empty() ? "-" : tags});
  }
  if (format == Format::json) {
    std::string out = "{\"examined\": " + std::to_string(events.size()) + ", \"copied\": " + std::to_string(routed) +
                      ", \"matches\": {";
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (i > 0) out += ", ";
      append_quoted(out, rules.rules()[i].name);
      out += ": " + std::to_string(per_rule[i]);
    }
    out += "}}\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  std::fputs(table({"MESSAGE_ID", "TYPE", "RULES", "COPY_TO", "TAGS"}, rows).c_str(), stdout);
  std::printf("%zu events examined, %zu would be copied\n", events.size(), routed);
  std::vector<std::vector<std::string>> totals;
  for (std::size_t i = 0; i < rules.size(); ++i) totals.push_back({rules.rules()[i].name, std::to_string(per_rule[i])});
  std::fputs(table({"RULE", "MATCHED"}, totals).c_str(), stdout);
  return 0;
}

}  // namespace tradpal::evctl
