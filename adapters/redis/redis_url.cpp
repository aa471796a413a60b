#include "adapters/redis/redis_url.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace tradpal::redis {
namespace {

int parse_number(std::string_view text, int min, int max, const char* what) {
  int value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max) {
    // Echoed only when it is plainly a number: a password typed without its
    // host (redis://user:pa?ss@) would otherwise come back as a "port".
    const bool digits = text.size() <= 12 && text.find_first_not_of("0123456789-+") == std::string_view::npos;
    throw ConfigError(std::string("REDIS_URL: invalid ") + what + (digits ? " '" + std::string(text) + "'" : "") +
                      " (expected " + std::to_string(min) + " to " + std::to_string(max) + ")");
  }
  return value;
}

// A host name or an IPv4 literal: letters, digits, '.', '-', '_'. Anything
// else (a '?', an '@', a control byte) is more likely a password typed
// without escapes than a host, so the error does not echo it.
void check_host(std::string_view host) {
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
    if (!ok) throw ConfigError("REDIS_URL: invalid host (letters, digits, '.', '-' and '_' only; escape a password's '@', '/' or '?' as %40, %2F, %3F)");
  }
}

// Inside [...]: hex digits, ':' and '.', and a zone after '%'.
void check_ipv6(std::string_view host) {
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
                    c == '.' || c == '%';
    if (!ok) throw ConfigError("REDIS_URL: invalid IPv6 address");
  }
}

// Userinfo may carry percent-escapes (a password with '@' or ':' must be
// escaped to be a valid URL at all).
std::string percent_decode(std::string_view text, const char* what) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    // Exactly two hex digits (from_chars alone would take "-1").
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int high = i + 2 < text.size() ? hex(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      // Never echo the text: it may be the password.
      throw ConfigError(std::string("REDIS_URL: bad percent-escape in ") + what);
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

// host[:port] or [v6][:port]: one node of a redis:// or redis+cluster:// URL.
Endpoint parse_host_port(std::string_view rest) {
  Endpoint node;
  if (rest.empty()) throw ConfigError("REDIS_URL: missing host");
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw ConfigError("REDIS_URL: unterminated IPv6 address");
    node.host = std::string(rest.substr(1, close - 1));
    check_ipv6(node.host);
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw ConfigError("REDIS_URL: junk after IPv6 address");
      node.port = parse_number(rest.substr(1), 1, 65535, "port");
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    node.host = std::string(rest.substr(0, colon));
    check_host(node.host);
    node.port = parse_number(rest.substr(colon + 1), 1, 65535, "port");
  } else {
    node.host = std::string(rest);
    check_host(node.host);
  }
  if (node.host.empty()) throw ConfigError("REDIS_URL: missing host");
  return node;
}

}  // namespace

RedisUrl RedisUrl::parse(std::string_view text) {
  RedisUrl url;
  constexpr std::string_view kRedis = "redis://";
  constexpr std::string_view kCluster = "redis+cluster://";
  constexpr std::string_view kUnix = "unix://";
  if (text.starts_with(kUnix)) {
    std::string_view rest = text.substr(kUnix.size());
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    if (rest.empty() || rest.front() != '/') throw ConfigError("REDIS_URL: unix:// needs an absolute socket path");
    url.unix_path = std::string(rest);
    url.host.clear();
    url.port = 0;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (pair.starts_with("db=")) {
        url.db = parse_number(pair.substr(3), 0, 1 << 20, "database number");
      } else if (pair.starts_with("password=")) {
        url.password = percent_decode(pair.substr(9), "password");
      } else if (pair.starts_with("user=")) {
        url.user = percent_decode(pair.substr(5), "user");
      } else if (!pair.empty()) {
        throw ConfigError("REDIS_URL: unknown unix:// option '" + std::string(pair.substr(0, pair.find('='))) + "'");
      }
    }
    return url;
  }
  const bool cluster = text.starts_with(kCluster);
  if (!cluster && !text.starts_with(kRedis)) {
    const auto colon = text.find("://");
    throw ConfigError("REDIS_URL: unsupported scheme '" +
                      std::string(colon == std::string_view::npos ? std::string_view("(none)") : text.substr(0, colon)) +
                      "' (expected redis://, redis+cluster:// or unix://)");
  }
  std::string_view rest = text.substr(cluster ? kCluster.size() : kRedis.size());
  std::string_view path;
  // The credentials end at the last '@' (a password may hold '/', '@' or
  // ':'), so they are split off before the path: otherwise part of a
  // password could be read as a host or port and echoed in an error.
  std::string_view userinfo;
  bool has_userinfo = false;
  if (const auto at = rest.substr(0, rest.find('?')).rfind('@'); at != std::string_view::npos) {
    userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    has_userinfo = true;
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (has_userinfo) {
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      url.user = percent_decode(userinfo.substr(0, colon), "user");
      url.password = percent_decode(userinfo.substr(colon + 1), "password");
    } else {
      // redis://secret@host: redis-py reads a lone userinfo as the password.
      url.password = percent_decode(userinfo, "password");
    }
  }
  if (cluster) {
    url.cluster = true;
    while (true) {
      const auto comma = rest.find(',');
      Endpoint node = parse_host_port(rest.substr(0, comma));
      if (std::find(url.seeds.begin(), url.seeds.end(), node) == url.seeds.end()) url.seeds.push_back(std::move(node));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    url.host = url.seeds.front().host;
    url.port = url.seeds.front().port;
  } else {
    Endpoint node = parse_host_port(rest);
    url.host = std::move(node.host);
    url.port = node.port;
  }
  if (url.host.empty()) throw ConfigError("REDIS_URL: missing host");
  if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (!path.empty()) url.db = parse_number(path, 0, 1 << 20, "database number");
  if (url.cluster && url.db != 0) throw ConfigError("REDIS_URL: a cluster has database 0 only");
  return url;
}

RedisUrl RedisUrl::from_env() {
  const char* env = std::getenv("REDIS_URL");
  return parse(env != nullptr && *env != '\0' ? std::string_view(env) : kDefault);
}

std::string RedisUrl::redacted() const {
  std::string out;
  if (is_unix()) {
    out = "unix://" + unix_path;
    if (db != 0) out += "?db=" + std::to_string(db);
    return out;
  }
  out = cluster ? "redis+cluster://" : "redis://";
  if (!user.empty() || !password.empty()) {
    out += user;
    if (!password.empty()) out += ":***";
    out += '@';
  }
  auto add_node = [&out](const std::string& h, int p) {
    out += h.find(':') != std::string::npos ? "[" + h + "]" : h;
    out += ':' + std::to_string(p);
  };
  if (cluster) {
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      if (i != 0) out += ',';
      add_node(seeds[i].host, seeds[i].port);
    }
  } else {
    add_node(host, port);
  }
  if (db != 0) out += '/' + std::to_string(db);
  return out;
}

RedisUrl RedisUrl::at(const Endpoint& node) const {
  RedisUrl url;
  url.host = node.host;
  url.port = node.port;
  url.user = user;
  url.password = password;
  url.db = db;
  return url;
}

}  // namespace tradpal::redis
