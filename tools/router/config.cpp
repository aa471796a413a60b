#include "tools/router/config.h"

#include <unistd.h>

#include <string_view>
#include <vector>

#include "adapters/redis/partitioning.h"
#include "tools/common/settings_table.h"

namespace tradpal::router {
namespace {

std::uint64_t parse_number(std::string_view name, std::string_view text, std::uint64_t min, std::uint64_t max) {
  return tools::parse_whole_number<RouterConfigError>(name, text, min, max);
}

using Setting = tools::Setting<RouterConfig>;

std::string stream_name(std::string_view name, std::string_view v) {
  if (v.empty()) throw RouterConfigError(std::string(name) + ": empty stream name");
  return std::string(v);
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {"ROUTER_RULES", "--rules", "the rules file (JSON; required). SIGHUP reloads it",
       [](RouterConfig& c, std::string_view, std::string_view v) { c.rules_file = v; }},
      {"REDIS_URL", "--redis-url", "redis://..., unix://... or redis+cluster://... (redis://localhost:6379)",
       [](RouterConfig& c, std::string_view name, std::string_view v) {
         try {
           c.redis_url = redis::RedisUrl::parse(v);
         } catch (const redis::ConfigError& e) {
           throw RouterConfigError(std::string(name) + ": " + e.what());
         }
       }},
      {"ROUTER_SOURCE_STREAM", "--source", "the event stream read (tradpal_events)",
       [](RouterConfig& c, std::string_view name, std::string_view v) { c.source = stream_name(name, v); }},
      {"EVENT_SERVICE_PARTITIONS", "--partitions", "partition streams of the source, as eventd writes them (1)",
       [](RouterConfig& c, std::string_view name, std::string_view v) {
         c.partitions = parse_number(name, v, 1, redis::PartitionOptions::kMaxCount);
       }},
      {"ROUTER_GROUP", "--group", "the consumer group routers share the work in (tradpal_router)",
       [](RouterConfig& c, std::string_view name, std::string_view v) {
         if (v.empty()) throw RouterConfigError(std::string(name) + ": empty group name");
         c.group = v;
       }},
      {"ROUTER_CONSUMER", "--consumer", "this router's name in the group (<hostname>-<pid>)",
       [](RouterConfig& c, std::string_view name, std::string_view v) {
         if (v.empty()) throw RouterConfigError(std::string(name) + ": empty consumer name");
         c.consumer = v;
       }},
      {"ROUTER_FROM", "--from", "where a group that does not exist yet starts: new or start (new)",
       [](RouterConfig& c, std::string_view name, std::string_view v) {
         if (v != "new" && v != "start") throw RouterConfigError(std::string(name) + ": expected new or start");
         c.from_start = v == "start";
       }},
      {"ROUTER_READ_COUNT", "--read-count", "entries per read (500)",
       [](RouterConfig& c, std::string_view name, std::string_view v) { c.read_count = parse_number(name, v, 1, 10000); }},
      {"ROUTER_CLAIM_IDLE_MS", "--claim-idle-ms",
       "an entry another router left pending this long is taken over (30000)",
       [](RouterConfig& c, std::string_view name, std::string_view v) {
         c.claim_idle = std::chrono::milliseconds(parse_number(name, v, 100, 86400000));
       }},
      {"ROUTER_DEDUP_TTL_S", "--dedup-ttl-s", "how long (at least) each target remembers a copied event id (3600)",
       [](RouterConfig& c, std::string_view name, std::string_view v) {
         c.dedup_ttl = std::chrono::seconds(parse_number(name, v, 1, 30 * 86400));
       }},
      {"ROUTER_SCHEMAS", "--schemas",
       "directory of <event_type>.json JSON Schemas; events failing theirs are quarantined, not routed (none)",
       [](RouterConfig& c, std::string_view, std::string_view v) { c.schemas_dir = v; }},
      {"ROUTER_QUARANTINE_STREAM", "--quarantine", "where events failing their schema go (<source>:quarantine)",
       [](RouterConfig& c, std::string_view name, std::string_view v) { c.quarantine = stream_name(name, v); }},
      {"ROUTER_METRICS", "--metrics", "host:port of the /metrics endpoint, or off (127.0.0.1:9466)",
       [](RouterConfig& c, std::string_view, std::string_view v) { c.metrics_listen = v == "off" ? "" : v; }},
  };
  return table;
}

}  // namespace

RouterConfig parse_router_config(int argc, const char* const* argv,
                                 const std::function<const char*(const char*)>& getenv) {
  RouterConfig c;
  tools::apply_settings<RouterConfigError>(settings(), argc, argv, getenv, c);
  if (c.help) return c;
  if (c.rules_file.empty()) throw RouterConfigError("--rules: a rules file is required (see --help)");
  try {
    (void)redis::Partitioning(c.source, {.count = c.partitions});
  } catch (const redis::ConfigError& e) {
    throw RouterConfigError(std::string("--partitions: ") + e.what());
  }
  if (c.quarantine.empty()) c.quarantine = c.source + ":quarantine";
  if (c.consumer.empty()) {
    char host[256] = "router";
    (void)gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    c.consumer = std::string(host) + "-" + std::to_string(getpid());
  }
  return c;
}

std::string router_usage() {
  std::string out =
      "usage: tradpal-router --rules FILE [options]\n"
      "\n"
      "Copies the events of a TradPal stream that match routing rules into target streams, and tags\n"
      "their metadata. Routers with the same --group share the work through a Redis consumer group;\n"
      "an event is acknowledged after its copies are written, and each target holds each event id at\n"
      "most once (remembered for --dedup-ttl-s), so a router killed mid-batch loses nothing and\n"
      "duplicates nothing. SIGHUP reloads the rules file (a file that does not load is refused and the\n"
      "rules in force stay). SIGTERM or SIGINT finishes the batch in hand and exits. Per-rule counters\n"
      "at /metrics. Every option may also be given as the environment variable shown; a flag wins.\n"
      "\n";
  out += tools::settings_usage(settings());
  return out;
}

}  // namespace tradpal::router
