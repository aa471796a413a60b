// tools/aggregator/config.h
//
// AggregatorConfig: what tradpal-aggregator can be told, from the
// environment and from flags (a flag wins over its variable).
// parse_aggregator_config() throws AggregatorConfigError with one line
// naming the bad setting; main() prints it and exits with status 2.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/redis/redis_url.h"

namespace tradpal::aggregator {

class AggregatorConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Interval {
  std::string label;  // as given: "1s", "1m", "250ms"
  std::chrono::nanoseconds length{};
};

struct AggregatorConfig {
  redis::RedisUrl redis_url = redis::RedisUrl::parse(redis::RedisUrl::kDefault);
  std::string source = "tradpal_events";  // the stream (or partitioned stream) read
  std::size_t partitions = 1;             // as eventd's EVENT_SERVICE_PARTITIONS
  std::string bars = "tradpal_bars";      // where bars go
  std::vector<Interval> intervals{{"1s", std::chrono::seconds(1)}, {"1m", std::chrono::minutes(1)}};
  std::chrono::milliseconds lateness{2000};
  // A commit (bars + checkpoint, one transaction) at least this often
  // while events come, and whenever bars close.
  std::chrono::milliseconds commit_interval{200};
  std::size_t read_count = 1000;  // entries per XREAD
  // A directory of <event_type>.json JSON Schemas; market data failing its
  // schema goes to the quarantine stream (empty: no schema check).
  std::string schemas_dir;
  bool help = false;
};

[[nodiscard]] AggregatorConfig parse_aggregator_config(int argc, const char* const* argv,
                                                       const std::function<const char*(const char*)>& getenv);
// "250ms", "1s", "1m", "1h" (a number and a unit).
[[nodiscard]] Interval parse_interval(std::string_view text);
[[nodiscard]] std::string aggregator_usage();

}  // namespace tradpal::aggregator
