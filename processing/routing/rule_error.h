// processing/routing/rule_error.h
//
// RuleError: why a rules file was refused. Thrown while loading a RuleSet,
// never while matching. It names the place in the document the way a reader
// would look for it ("rules[2].when.all[1].gt") and, when loaded from a file,
// the file; what() is the whole line ("rules.json: rules[2].when: ...").
#pragma once

#include <stdexcept>
#include <string>

namespace tradpal::routing {

class RuleError : public std::runtime_error {
 public:
  RuleError(std::string where, std::string reason, std::string source = {});

  [[nodiscard]] const std::string& where() const noexcept { return where_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

 private:
  std::string where_;
  std::string reason_;
  std::string source_;
};

}  // namespace tradpal::routing
