// tools/eventd/config.h
//
// Config: everything eventd can be told, from the environment and from
// command-line flags (a flag wins over its variable). parse_config() throws
// ConfigError with one line naming the bad setting; main() prints it and
// exits with status 2. A plain value, built once on the main thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "adapters/redis/redis_url.h"

namespace tradpal::eventd {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Config {
  redis::RedisUrl redis_url = redis::RedisUrl::parse(redis::RedisUrl::kDefault);
  std::string host = "127.0.0.1";
  std::uint16_t port = 8011;
  std::string stream = "tradpal_events";
  std::string group = "tradpal_consumers";
  std::size_t ring_bytes = std::size_t{16} << 20;
  std::size_t batch_size = 1024;
  // Encoded events taken from the ring and not yet acknowledged, in bytes;
  // past it the ring fills and POSTs are answered 503 (back-pressure).
  std::size_t persist_buffer_bytes = std::size_t{64} << 20;
  std::string token;  // empty: POST endpoints need no Authorization
  std::chrono::milliseconds publish_timeout{5000};
  std::chrono::milliseconds heartbeat{15000};
  std::chrono::milliseconds shutdown_grace{5000};
  // HTTP limits (see adapters/http/server_config.h for what each answers).
  std::size_t max_connections = 1024;
  std::size_t max_body_bytes = std::size_t{1} << 20;
  std::size_t max_header_bytes = std::size_t{16} << 10;
  std::size_t max_unsent_bytes = std::size_t{4} << 20;
  std::size_t stream_unsent_bytes = std::size_t{1} << 20;
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  // A stream client that has taken nothing for this long (its unsent output
  // full, not even a heartbeat going out) is disconnected.
  std::chrono::milliseconds stream_stall_timeout{60000};
  // Replicated acknowledgements: a publish is answered only once WAIT says
  // this many replicas hold it (0: once the master has it).
  int replicas = 0;
  std::chrono::milliseconds replica_timeout{1000};
  // Partition streams (<stream>:{p<i>}, see adapters/redis/partitioning.h)
  // and the key that picks an event's partition. One partition: the plain
  // stream, today's wire.
  std::size_t partitions = 1;
  std::string partition_key = "data.symbol";
  // A directory of <event_type>.json JSON Schemas: publishes whose data
  // fails its type's schema are answered 422 (empty: no validation).
  std::string schemas_dir;
  // Most events one GET /events reads from Redis to find its matches.
  std::size_t read_max_scan = 100000;
  bool help = false;
};

// Reads the environment through `getenv` (so tests can supply their own),
// then the flags. Throws ConfigError.
[[nodiscard]] Config parse_config(int argc, const char* const* argv,
                                  const std::function<const char*(const char*)>& getenv);

// The text `eventd --help` prints.
[[nodiscard]] std::string usage_text();

}  // namespace tradpal::eventd
