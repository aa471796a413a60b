// tools/router/config.h
//
// RouterConfig: what tradpal-router can be told, from the environment and
// from flags (a flag wins over its variable). parse_router_config() throws
// RouterConfigError with one line naming the bad setting; main() prints it
// and exits with status 2.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "adapters/redis/redis_url.h"

namespace tradpal::router {

class RouterConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RouterConfig {
  redis::RedisUrl redis_url = redis::RedisUrl::parse(redis::RedisUrl::kDefault);
  std::string rules_file;                 // required
  std::string source = "tradpal_events";  // the stream (or partitioned stream) read
  std::size_t partitions = 1;             // as eventd's EVENT_SERVICE_PARTITIONS
  std::string group = "tradpal_router";
  std::string consumer;                   // default: <hostname>-<pid>
  bool from_start = false;                // a new group reads the stream from its beginning (else new entries)
  std::size_t read_count = 500;           // entries per XREADGROUP
  std::chrono::milliseconds claim_idle{30000};  // another consumer's entry pending this long is taken over
  std::chrono::seconds dedup_ttl{3600};   // how long (at least) a copy's event id is remembered per target
  std::string metrics_listen = "127.0.0.1:9466";  // empty or "off": no /metrics
  // A directory of <event_type>.json JSON Schemas: an event whose data fails
  // its type's schema is not routed; it goes to `quarantine` (default
  // "<source>:quarantine") with the reason in its metadata.
  std::string schemas_dir;
  std::string quarantine;
  bool help = false;
};

[[nodiscard]] RouterConfig parse_router_config(int argc, const char* const* argv,
                                               const std::function<const char*(const char*)>& getenv);
[[nodiscard]] std::string router_usage();

}  // namespace tradpal::router
