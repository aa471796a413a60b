#include "processing/routing/rule_error.h"

#include <utility>

namespace tradpal::routing {
namespace {

std::string describe(const std::string& where, const std::string& reason, const std::string& source) {
  std::string out;
  if (!source.empty()) out += source + ": ";
  if (!where.empty()) out += where + ": ";
  return out + reason;
}

}  // namespace

RuleError::RuleError(std::string where, std::string reason, std::string source)
    : std::runtime_error(describe(where, reason, source)),
      where_(std::move(where)),
      reason_(std::move(reason)),
      source_(std::move(source)) {}

}  // namespace tradpal::routing
