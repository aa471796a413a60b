// Fuzz harness: REDIS_URL parsing. Beyond not crashing: neither the
// redacted form of a URL nor the error a malformed one raises may depend on
// its password. Checked by parsing the text again with the password
// replaced: a message that changes with it, and contains it, leaks it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/redis/redis_url.h"

namespace {

using tradpal::redis::RedisUrl;

struct Outcome {
  bool parsed = false;
  std::string text;  // the redacted URL, or the error
};

Outcome outcome(std::string_view text) {
  try {
    return {true, RedisUrl::parse(text).redacted()};
  } catch (const tradpal::redis::ConfigError& e) {
    return {false, e.what()};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Outcome first = outcome(text);
  // Where a password would be: after the first ':' of the userinfo, up to
  // the last '@' before the path and before the first '?' (the parser ends
  // the credentials there: past a '?' is a query, never echoed); userinfo
  // without ':' is a user name. Text past a '?' taken for a password can be
  // a piece of a fixed error message (as "?' as %40, %2F, " of the
  // invalid-host error once was) and be reported as leaked.
  const auto scheme = text.find("://");
  if (scheme == std::string_view::npos) return 0;
  const std::size_t begin = scheme + 3;
  std::string_view authority = text.substr(begin, text.substr(begin).find('/'));
  authority = authority.substr(0, authority.find('?'));
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return 0;
  const auto colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return 0;
  const std::size_t from = begin + colon + 1;
  const std::size_t to = begin + at;
  if (to - from < 4) return 0;
  const std::string_view secret = text.substr(from, to - from);
  std::string other(text);
  other.replace(from, to - from, std::string(to - from, 'Z'));
  const Outcome second = outcome(other);
  if (first.parsed == second.parsed && first.text != second.text &&
      first.text.find(secret) != std::string::npos) {
    __builtin_trap();
  }
  return 0;
}
