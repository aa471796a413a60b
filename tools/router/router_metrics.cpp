#include "tools/router/router_metrics.h"

namespace tradpal::router {
namespace {

prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

}  // namespace

RouterMetrics::RouterMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::Registry& r = *registry_;
  events_read = &counter(r, "tradpal_router_events_read_total", "Entries taken from the source stream").Add({});
  events_acked = &counter(r, "tradpal_router_events_acked_total", "Entries acknowledged after routing").Add({});
  skipped = &counter(r, "tradpal_router_skipped_total", "Entries that are not TradPal events (routed nowhere)").Add({});
  claimed = &counter(r, "tradpal_router_claimed_total", "Entries taken over from another router").Add({});
  quarantined =
      &counter(r, "tradpal_router_quarantined_total", "Events failing their schema, sent to the quarantine stream")
           .Add({});
  auto& reloads = counter(r, "tradpal_router_rules_reloads_total", "Rules file reloads on SIGHUP, by result");
  reloads_ok = &reloads.Add({{"result", "ok"}});
  reloads_refused = &reloads.Add({{"result", "refused"}});
  rules_loaded = &prometheus::BuildGauge().Name("tradpal_router_rules").Help("Rules in force").Register(r).Add({});
  matches_ = &counter(r, "tradpal_router_rule_matches_total", "Events each rule matched");
  copies_ = &counter(r, "tradpal_router_copies_total", "Copies written to each target stream");
  duplicates_ = &counter(r, "tradpal_router_duplicates_total",
                         "Copies a target already held (a redelivered event), not written again");
}

}  // namespace tradpal::router
