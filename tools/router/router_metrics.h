// tools/router/router_metrics.h
//
// RouterMetrics: tradpal-router's Prometheus counters, per rule and per
// target stream, served at /metrics by prometheus-cpp's exposer (its own
// threads read them; counters are atomic). The routing thread looks up a
// rule's or target's counter once per rules load, not per event.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace tradpal::router {

class RouterMetrics {
 public:
  RouterMetrics();

  [[nodiscard]] const std::shared_ptr<prometheus::Registry>& registry() const noexcept { return registry_; }

  // Events that matched the rule (each event once per rule).
  [[nodiscard]] prometheus::Counter& rule_matches(const std::string& rule) { return matches_->Add({{"rule", rule}}); }
  // Copies written to the target, and copies it already held (a redelivered event).
  [[nodiscard]] prometheus::Counter& copies(const std::string& target) { return copies_->Add({{"target", target}}); }
  [[nodiscard]] prometheus::Counter& duplicates(const std::string& target) {
    return duplicates_->Add({{"target", target}});
  }

  // Set by the constructor, never null.
  prometheus::Counter* events_read;   // entries taken from the source (read or claimed)
  prometheus::Counter* events_acked;
  prometheus::Counter* skipped;       // not TradPal events: acknowledged, routed nowhere
  prometheus::Counter* claimed;       // taken over from a router that left them pending
  prometheus::Counter* quarantined;   // failing their schema: sent to the quarantine stream
  prometheus::Counter* reloads_ok;
  prometheus::Counter* reloads_refused;
  prometheus::Gauge* rules_loaded;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* matches_;
  prometheus::Family<prometheus::Counter>* copies_;
  prometheus::Family<prometheus::Counter>* duplicates_;
};

}  // namespace tradpal::router
