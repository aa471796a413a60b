#include "tools/aggregator/config.h"

#include <charconv>
#include <string_view>

#include "adapters/redis/partitioning.h"
#include "tools/common/settings_table.h"

namespace tradpal::aggregator {
namespace {

std::uint64_t parse_number(std::string_view name, std::string_view text, std::uint64_t min, std::uint64_t max) {
  return tools::parse_whole_number<AggregatorConfigError>(name, text, min, max);
}

using Setting = tools::Setting<AggregatorConfig>;

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {"REDIS_URL", "--redis-url", "redis://..., unix://... or redis+cluster://... (redis://localhost:6379)",
       [](AggregatorConfig& c, std::string_view name, std::string_view v) {
         try {
           c.redis_url = redis::RedisUrl::parse(v);
         } catch (const redis::ConfigError& e) {
           throw AggregatorConfigError(std::string(name) + ": " + e.what());
         }
       }},
      {"AGGREGATOR_SOURCE_STREAM", "--source", "the event stream read (tradpal_events)",
       [](AggregatorConfig& c, std::string_view name, std::string_view v) {
         if (v.empty()) throw AggregatorConfigError(std::string(name) + ": empty stream name");
         c.source = v;
       }},
      {"EVENT_SERVICE_PARTITIONS", "--partitions", "partition streams of the source, as eventd writes them (1)",
       [](AggregatorConfig& c, std::string_view name, std::string_view v) {
         c.partitions = parse_number(name, v, 1, redis::PartitionOptions::kMaxCount);
       }},
      {"AGGREGATOR_BARS_STREAM", "--bars", "the stream bars are written to (tradpal_bars)",
       [](AggregatorConfig& c, std::string_view name, std::string_view v) {
         if (v.empty()) throw AggregatorConfigError(std::string(name) + ": empty stream name");
         c.bars = v;
       }},
      {"AGGREGATOR_INTERVALS", "--intervals", "bar intervals, comma-separated, e.g. 1s,1m (1s,1m)",
       [](AggregatorConfig& c, std::string_view name, std::string_view v) {
         std::vector<Interval> out;
         while (!v.empty()) {
           const auto comma = v.find(',');
           try {
             out.push_back(parse_interval(v.substr(0, comma)));
           } catch (const AggregatorConfigError& e) {
             throw AggregatorConfigError(std::string(name) + ": " + e.what());
           }
           v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
         }
         if (out.empty()) throw AggregatorConfigError(std::string(name) + ": no interval");
         c.intervals = std::move(out);
       }},
      {"AGGREGATOR_LATENESS_MS", "--lateness-ms", "how late (event time) a tick may come for its bar (2000)",
       [](AggregatorConfig& c, std::string_view name, std::string_view v) {
         c.lateness = std::chrono::milliseconds(parse_number(name, v, 0, 86400000));
       }},
      {"AGGREGATOR_SCHEMAS", "--schemas",
       "directory of <event_type>.json JSON Schemas market data must pass, else it is quarantined (none)",
       [](AggregatorConfig& c, std::string_view, std::string_view v) { c.schemas_dir = v; }},
      {"AGGREGATOR_COMMIT_MS", "--commit-ms", "most time between two commits of bars and checkpoint (200)",
       [](AggregatorConfig& c, std::string_view name, std::string_view v) {
         c.commit_interval = std::chrono::milliseconds(parse_number(name, v, 1, 600000));
       }},
  };
  return table;
}

}  // namespace

Interval parse_interval(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, n);
  const std::string_view unit = text.substr(digits);
  std::int64_t ns_per_unit = 0;
  if (unit == "ms") ns_per_unit = 1'000'000;
  if (unit == "s") ns_per_unit = 1'000'000'000;
  if (unit == "m" || unit == "min") ns_per_unit = 60'000'000'000;
  if (unit == "h") ns_per_unit = 3'600'000'000'000;
  if (digits == 0 || ec != std::errc() || n == 0 || ns_per_unit == 0 || n > 7 * 24 * 3600 * 1000ull) {
    throw AggregatorConfigError("'" + std::string(text) + "' is no interval (a number and ms, s, m or h)");
  }
  return Interval{std::string(text), std::chrono::nanoseconds(static_cast<std::int64_t>(n) * ns_per_unit)};
}

AggregatorConfig parse_aggregator_config(int argc, const char* const* argv,
                                         const std::function<const char*(const char*)>& getenv) {
  AggregatorConfig c;
  tools::apply_settings<AggregatorConfigError>(settings(), argc, argv, getenv, c);
  try {
    (void)redis::Partitioning(c.source, {.count = c.partitions});
  } catch (const redis::ConfigError& e) {
    throw AggregatorConfigError(std::string("--partitions: ") + e.what());
  }
  return c;
}

std::string aggregator_usage() {
  std::string out =
      "usage: tradpal-aggregator [options]\n"
      "\n"
      "OHLCV bars per symbol and interval from the market_data_update events of a TradPal stream, by\n"
      "event time, written as events to a bars stream exactly once across restarts: the bars and the\n"
      "aggregator's checkpoint (open windows and stream position, key {<bars>}:checkpoint; on a cluster\n"
      "a bars name with a hash tag of its own lends it: {<tag>}:checkpoint) are written in one\n"
      "transaction. SIGTERM or SIGINT commits and exits. Every option may also be given as the\n"
      "environment variable shown; a flag wins.\n"
      "\n";
  out += tools::settings_usage(settings());
  return out;
}

}  // namespace tradpal::aggregator
