#include "tools/eventd/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <vector>

namespace tradpal::eventd {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add(MetricFamily& f, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

MetricFamily single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f = family(std::move(name), std::move(help), type);
  add(f, value);
  return f;
}

MetricFamily per_type(std::string name, std::string help, const std::array<std::uint64_t, kEventTypeCount>& values) {
  MetricFamily f = family(std::move(name), std::move(help), MetricType::Counter);
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    add(f, static_cast<double>(values[i]), {{"event_type", std::string(kEventTypeNames[i])}});
  }
  return f;
}

}  // namespace

Metrics::Metrics() {
  latency_ = &prometheus::BuildHistogram()
                  .Name("event_service_publish_persisted_seconds")
                  .Help("Time from a publish entering the bus to Redis acknowledging it (POST endpoints)")
                  .Register(registry_)
                  .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                                    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  batch_ = &prometheus::BuildHistogram()
                .Name("event_service_persist_batch_size")
                .Help("Acknowledgements Redis returned together for HTTP publishes (one persister reply burst)")
                .Register(registry_)
                .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
}

std::string Metrics::render(const ScrapeInputs& in) const {
  std::vector<MetricFamily> families = registry_.Collect();
  const ServiceCounters& c = in.counters;
  const redis::PersisterHealth& h = in.redis.snapshot();

  families.push_back(per_type("event_service_events_published_total",
                              "Events published through the service and acknowledged by Redis", c.published));
  families.push_back(per_type("event_service_events_consumed_total",
                              "Events delivered to live stream (/events/stream) subscribers", c.consumed));
  families.push_back(single("event_service_active_subscribers", "Live stream subscribers connected now",
                            MetricType::Gauge, static_cast<double>(in.stream_clients)));
  families.push_back(single("event_service_stream_clients_stalled_total",
                            "Stream subscribers disconnected for reading nothing for the stall time",
                            MetricType::Counter, static_cast<double>(c.stream_clients_stalled)));
  families.push_back(single("event_service_stream_catch_ups_total",
                            "Times a stream subscriber too slow for the live events read on from Redis instead",
                            MetricType::Counter, static_cast<double>(c.stream_catch_ups)));
  if (in.stream_length) {
    families.push_back(single("event_service_stream_length", "Entries in the Redis stream at scrape time (XLEN)",
                              MetricType::Gauge, static_cast<double>(*in.stream_length)));
  }
  families.push_back(single("event_service_redis_up", "1 when the persister's Redis connection is up",
                            MetricType::Gauge, h.connected ? 1 : 0));
  {
    MetricFamily f = family("event_service_redis_breaker_state",
                            "Circuit breaker of the Redis connection: 1 for the current state", MetricType::Gauge);
    const redis::BreakerState now = in.redis.snapshot().breaker;
    for (auto s : {redis::BreakerState::closed, redis::BreakerState::open, redis::BreakerState::half_open}) {
      add(f, s == now ? 1 : 0, {{"state", std::string(redis::to_string(s))}});
    }
    families.push_back(std::move(f));
  }
  {
    MetricFamily f = family("event_service_events_dropped_total",
                            "Events a subscriber or reader lost, by reason", MetricType::Counter);
    add(f, static_cast<double>(in.bus.dropped_total()), {{"reason", "subscriber_overrun"}});
    add(f, static_cast<double>(c.stream_missed_slow), {{"reason", "stream_client_slow"}});
    add(f, static_cast<double>(in.undecodable_entries), {{"reason", "undecodable_entry"}});
    families.push_back(std::move(f));
  }
  {
    MetricFamily f = family("event_service_publish_rejected_total",
                            "Publishes answered with an error instead of a message id, by reason",
                            MetricType::Counter);
    for (std::size_t i = 0; i < kRejectionCount; ++i) {
      add(f, static_cast<double>(c.rejected[i]), {{"reason", kRejectionNames[i]}});
    }
    families.push_back(std::move(f));
  }
  families.push_back(single("event_service_events_replayed_total", "Events republished into the bus by replays",
                            MetricType::Counter, static_cast<double>(c.replayed)));
  families.push_back(single("event_service_events_persisted_total", "Events the persister wrote to Redis",
                            MetricType::Counter, static_cast<double>(h.persisted)));
  families.push_back(single("event_service_persister_lag_events", "Events in the bus not yet acknowledged by Redis",
                            MetricType::Gauge, static_cast<double>(in.redis.persister_lag())));
  families.push_back(single("event_service_ring_fill_ratio", "Share of the bus ring publishers may not overwrite yet",
                            MetricType::Gauge, in.redis.ring_fill()));
  {
    MetricFamily f = family("event_service_http_requests_total", "HTTP answers by method, route and status",
                            MetricType::Counter);
    in.server.request_counters().for_each(
        [&](std::string_view method, std::string_view route, int status, std::uint64_t count) {
          add(f, static_cast<double>(count),
              {{"method", std::string(method)}, {"route", std::string(route)}, {"status", std::to_string(status)}});
        });
    families.push_back(std::move(f));
  }
  families.push_back(single("event_service_http_connections_open", "HTTP connections open now", MetricType::Gauge,
                            static_cast<double>(in.server.stats().connections_open)));

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace tradpal::eventd
