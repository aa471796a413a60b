#include "tools/eventd/config.h"

#include <string_view>
#include <vector>

#include "adapters/redis/partitioning.h"
#include "tools/common/settings_table.h"

namespace tradpal::eventd {
namespace {

std::uint64_t parse_number(std::string_view name, std::string_view text, std::uint64_t min, std::uint64_t max) {
  return tools::parse_whole_number<ConfigError>(name, text, min, max);
}

using Setting = tools::Setting<Config>;

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {"REDIS_URL", "--redis-url", "redis://[user:password@]host[:port][/db], unix:///path[?db=N], or redis+cluster://[user:password@]host:port[,host:port...] (redis://localhost:6379)",
       [](Config& c, std::string_view name, std::string_view v) {
         try {
           c.redis_url = redis::RedisUrl::parse(v);
         } catch (const redis::ConfigError& e) {
           throw ConfigError(std::string(name) + ": " + e.what());
         }
       }},
      {"EVENT_SERVICE_HOST", "--host", "address to listen on (127.0.0.1)",
       [](Config& c, std::string_view name, std::string_view v) {
         if (v.empty()) throw ConfigError(std::string(name) + ": empty host");
         c.host = v;
       }},
      {"EVENT_SERVICE_PORT", "--port", "TCP port (8011; 0 picks a free one)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.port = static_cast<std::uint16_t>(parse_number(name, v, 0, 65535));
       }},
      {"EVENT_SERVICE_STREAM", "--stream", "Redis stream key (tradpal_events)",
       [](Config& c, std::string_view name, std::string_view v) {
         if (v.empty()) throw ConfigError(std::string(name) + ": empty stream name");
         c.stream = v;
       }},
      {"EVENT_SERVICE_GROUP", "--group", "consumer group created on the stream (tradpal_consumers)",
       [](Config& c, std::string_view name, std::string_view v) {
         if (v.empty()) throw ConfigError(std::string(name) + ": empty group name");
         c.group = v;
       }},
      {"EVENT_SERVICE_RING_SIZE", "--ring-size", "bus ring size in bytes, a power of two >= 1 MiB (16777216)",
       [](Config& c, std::string_view name, std::string_view v) {
         const std::uint64_t n = parse_number(name, v, std::uint64_t{1} << 20, std::uint64_t{1} << 34);
         if ((n & (n - 1)) != 0) throw ConfigError(std::string(name) + ": must be a power of two, got " + std::string(v));
         c.ring_bytes = n;
       }},
      {"EVENT_SERVICE_BATCH_SIZE", "--batch-size", "most XADDs in one pipelined burst to Redis (1024)",
       [](Config& c, std::string_view name, std::string_view v) { c.batch_size = parse_number(name, v, 1, 65536); }},
      {"EVENT_SERVICE_PERSIST_BUFFER_BYTES", "--persist-buffer-bytes",
       "events waiting for Redis to acknowledge, in bytes, before the ring fills (67108864)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.persist_buffer_bytes = parse_number(name, v, std::uint64_t{1} << 20, std::uint64_t{1} << 36);
       }},
      {"EVENT_SERVICE_TOKEN", "--token", "when set, POST endpoints need 'Authorization: Bearer <token>'",
       [](Config& c, std::string_view, std::string_view v) { c.token = v; }},
      {"EVENT_SERVICE_PUBLISH_TIMEOUT_MS", "--publish-timeout-ms",
       "how long POST waits for Redis to acknowledge before answering 503 (5000)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.publish_timeout = std::chrono::milliseconds(parse_number(name, v, 1, 600000));
       }},
      {"EVENT_SERVICE_HEARTBEAT_MS", "--heartbeat-ms", "SSE heartbeat interval (15000)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.heartbeat = std::chrono::milliseconds(parse_number(name, v, 10, 3600000));
       }},
      {"EVENT_SERVICE_SHUTDOWN_GRACE_MS", "--shutdown-grace-ms",
       "on SIGTERM/SIGINT, how long in-flight requests may take (5000)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.shutdown_grace = std::chrono::milliseconds(parse_number(name, v, 0, 600000));
       }},
      {"EVENT_SERVICE_MAX_CONNECTIONS", "--max-connections",
       "open HTTP connections; more are answered 503 (1024; lowered to what the fd limit allows)",
       [](Config& c, std::string_view name, std::string_view v) { c.max_connections = parse_number(name, v, 1, 1000000); }},
      {"EVENT_SERVICE_MAX_BODY_BYTES", "--max-body-bytes", "request body; larger is 413 (1048576)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.max_body_bytes = parse_number(name, v, 1024, std::uint64_t{1} << 30);
       }},
      {"EVENT_SERVICE_MAX_HEADER_BYTES", "--max-header-bytes", "request line and headers; larger is 431 (16384)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.max_header_bytes = parse_number(name, v, 1024, std::uint64_t{1} << 20);
       }},
      {"EVENT_SERVICE_MAX_UNSENT_BYTES", "--max-unsent-bytes",
       "answers a client has not read before its connection stops being read (4194304)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.max_unsent_bytes = parse_number(name, v, 4096, std::uint64_t{1} << 30);
       }},
      {"EVENT_SERVICE_STREAM_UNSENT_BYTES", "--stream-unsent-bytes",
       "events a stream client has not read before it misses events (1048576)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.stream_unsent_bytes = parse_number(name, v, 4096, std::uint64_t{1} << 30);
       }},
      {"EVENT_SERVICE_IDLE_TIMEOUT_MS", "--idle-timeout-ms", "a connection waiting for a request is closed after (5000)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.idle_timeout = std::chrono::milliseconds(parse_number(name, v, 100, 3600000));
       }},
      {"EVENT_SERVICE_REQUEST_TIMEOUT_MS", "--request-timeout-ms",
       "a request must arrive whole within this, however it trickles; else 408 (30000)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.request_timeout = std::chrono::milliseconds(parse_number(name, v, 100, 3600000));
       }},
      {"EVENT_SERVICE_STREAM_STALL_MS", "--stream-stall-ms",
       "a stream client that reads nothing for this long is disconnected (60000)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.stream_stall_timeout = std::chrono::milliseconds(parse_number(name, v, 100, 86400000));
       }},
      {"EVENT_SERVICE_REPLICAS", "--replicas",
       "acknowledge a publish only once this many replicas hold it (WAIT per burst; 0)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.replicas = static_cast<int>(parse_number(name, v, 0, 64));
       }},
      {"EVENT_SERVICE_REPLICA_TIMEOUT_MS", "--replica-timeout-ms",
       "how long one WAIT for the replicas blocks before it is asked again (1000)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.replica_timeout = std::chrono::milliseconds(parse_number(name, v, 1, 60000));
       }},
      {"EVENT_SERVICE_PARTITIONS", "--partitions",
       "partition streams <stream>:{p<i>}, spread over a cluster's masters (1: the plain stream)",
       [](Config& c, std::string_view name, std::string_view v) {
         c.partitions = parse_number(name, v, 1, redis::PartitionOptions::kMaxCount);
       }},
      {"EVENT_SERVICE_PARTITION_KEY", "--partition-key",
       "what picks an event's partition: data.<path>, metadata.<path>, type or source (data.symbol; "
       "an event without data.symbol goes by its type)",
       [](Config& c, std::string_view name, std::string_view v) {
         if (v.empty()) throw ConfigError(std::string(name) + ": empty partition key");
         c.partition_key = v;
       }},
      {"EVENT_SERVICE_SCHEMAS", "--schemas",
       "directory of <event_type>.json JSON Schemas (draft-07) the data of a publish must pass, else 422 (none)",
       [](Config& c, std::string_view, std::string_view v) { c.schemas_dir = v; }},
      {"EVENT_SERVICE_READ_MAX_SCAN", "--read-max-scan", "most stream entries one GET /events reads (100000)",
       [](Config& c, std::string_view name, std::string_view v) { c.read_max_scan = parse_number(name, v, 1, 100000000); }},
  };
  return table;
}

}  // namespace

Config parse_config(int argc, const char* const* argv, const std::function<const char*(const char*)>& getenv) {
  Config c;
  tools::apply_settings<ConfigError>(settings(), argc, argv, getenv, c);
  // The stream name, count and key together (a name with its own hash tag
  // cannot be partitioned; a key must be a path or type or source).
  try {
    (void)redis::Partitioning(c.stream, {.count = c.partitions, .key = c.partition_key});
  } catch (const redis::ConfigError& e) {
    throw ConfigError(std::string("EVENT_SERVICE_PARTITIONS / EVENT_SERVICE_PARTITION_KEY: ") + e.what());
  }
  return c;
}

std::string usage_text() {
  std::string out =
      "usage: eventd [options]\n"
      "\n"
      "The TradPal event service: HTTP API on the engine bus, persisted to a Redis stream.\n"
      "Every option may also be given as the environment variable shown; a flag wins.\n"
      "\n";
  out += tools::settings_usage(settings());
  return out;
}

}  // namespace tradpal::eventd
