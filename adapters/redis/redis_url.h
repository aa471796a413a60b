// adapters/redis/redis_url.h
//
// RedisUrl: where and as whom to connect, parsed from REDIS_URL
// (`redis://[[user]:password@]host[:port][/db]`, `unix:///path[?db=N]`, or
// `redis+cluster://[[user]:password@]host[:port][,host[:port]...]` for a
// Redis Cluster: the hosts are seeds, any of which can tell where the slots
// live; a cluster has database 0 only).
// Parsing throws ConfigError with a message that never contains the
// password; redacted() is the only form of a URL that may be logged. Plain
// value type: any thread, no shared state.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tradpal::redis {

// A configuration problem found at construction (bad URL, bad option).
class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// One node of a cluster: a TCP host and port.
struct Endpoint {
  std::string host;
  int port = 6379;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct RedisUrl {
  std::string host = "localhost";  // empty when unix_path is set; a cluster's first seed
  int port = 6379;
  bool cluster = false;            // redis+cluster://: host/port is the first of `seeds`
  std::vector<Endpoint> seeds;     // cluster only: every node the URL names, in order
  std::string unix_path;           // set for unix:// URLs
  std::string user;                // empty: AUTH <password> (or no AUTH)
  std::string password;            // empty: no AUTH
  int db = 0;                      // SELECT after connect when not 0

  static constexpr std::string_view kDefault = "redis://localhost:6379";

  // Throws ConfigError naming what is wrong (without the password).
  [[nodiscard]] static RedisUrl parse(std::string_view text);
  // REDIS_URL from the environment, or kDefault when unset or empty.
  [[nodiscard]] static RedisUrl from_env();

  [[nodiscard]] bool is_unix() const noexcept { return !unix_path.empty(); }
  // The URL with the password replaced by "***": safe for logs and errors.
  [[nodiscard]] std::string redacted() const;
  // The same credentials at one node: a plain redis:// URL (how a cluster
  // client reaches the node a slot lives on).
  [[nodiscard]] RedisUrl at(const Endpoint& node) const;
};

}  // namespace tradpal::redis
