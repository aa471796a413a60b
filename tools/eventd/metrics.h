// tools/eventd/metrics.h
//
// Metrics: GET /metrics in the Prometheus text exposition format (0.0.4),
// written by prometheus-cpp's TextSerializer. The two histograms live in a
// prometheus::Registry and are observed on the loop thread as publishes are
// acknowledged; every other value is gathered at scrape time from where it
// is kept (service counters, the bus, the persister, the HTTP server), so
// the bus hot path never touches prometheus-cpp. Loop thread only.
#pragma once

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <optional>
#include <string>

#include "adapters/http/server.h"
#include "engine/bus.h"
#include "tools/eventd/redis_monitor.h"
#include "tools/eventd/service_counters.h"

namespace tradpal::eventd {

// What a scrape reads besides the histograms.
struct ScrapeInputs {
  const ServiceCounters& counters;
  const Bus& bus;
  const RedisMonitor& redis;
  const http::Server& server;
  std::size_t stream_clients = 0;
  std::optional<std::uint64_t> stream_length;  // XLEN now; empty when Redis did not answer
  std::uint64_t undecodable_entries = 0;
};

class Metrics {
 public:
  Metrics();

  [[nodiscard]] prometheus::Histogram& publish_latency() noexcept { return *latency_; }
  [[nodiscard]] prometheus::Histogram& batch_size() noexcept { return *batch_; }

  [[nodiscard]] std::string render(const ScrapeInputs& in) const;

  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  prometheus::Registry registry_;
  prometheus::Histogram* latency_;
  prometheus::Histogram* batch_;
};

}  // namespace tradpal::eventd
