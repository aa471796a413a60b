// tools/evctl/route.h
//
// `evctl route`: a dry run of a routing rules file (tradpal-router's) over
// a slice of the stream: for each event, the rules it matches, the streams
// it would be copied to and the tags its copies would get; then how many
// events each rule matched. Nothing is written anywhere.
//
// load_rules_for_dry_run() reads the rules first (so a file that does not
// load costs no request): it prints the RuleError and returns nullptr, and
// the caller exits 2. dry_run() prints and returns 0.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/event.h"
#include "processing/routing/rule_set.h"
#include "tools/evctl/output.h"

namespace tradpal::evctl {

[[nodiscard]] std::unique_ptr<routing::RuleSet> load_rules_for_dry_run(const std::string& path);

int dry_run(const routing::RuleSet& rules, const std::vector<Event>& events, Format format);

}  // namespace tradpal::evctl
