// tools/eventd/routes.h
//
// Routes: the HTTP API of CONTRACT.md §2 mounted on a Router. Handlers run
// on the loop thread: they validate (FastAPI's 422 shapes, 400 for unknown
// event types), then publish through PendingPublishes, read through
// RedisReaders, or answer from what the loop already knows (/health,
// /events/types). POST routes need `Authorization: Bearer <token>` when the
// service has a token. Every JSON answer is built with http::JsonWriter.
#pragma once

#include <memory>

#include "adapters/http/router.h"
#include "adapters/http/server.h"
#include "adapters/redis/partitioned_stream_tail.h"
#include "engine/bus.h"
#include "tools/eventd/config.h"
#include "tools/eventd/metrics.h"
#include "tools/eventd/pending_publishes.h"
#include "tools/eventd/redis_monitor.h"
#include "tools/eventd/redis_readers.h"
#include "tools/eventd/schema_check.h"
#include "tools/eventd/service_counters.h"
#include "tools/eventd/sse_hub.h"

namespace tradpal::eventd {

// What the handlers use. Every reference must outlive the router; `server`
// is filled in once the server is built on the router.
struct RouteDeps {
  const Config& config;
  Bus& replay_bus;
  ServiceCounters& counters;
  Metrics& metrics;
  RedisMonitor& monitor;
  PendingPublishes& publishes;
  RedisReaders& readers;
  SseHub& hub;
  const redis::PartitionedStreamTail& tail;
  SchemaCheck* schemas;  // nullptr: payloads are not validated
  const std::unique_ptr<http::Server>& server;
};

class Routes {
 public:
  [[nodiscard]] static http::Router build(const RouteDeps& deps);
};

}  // namespace tradpal::eventd
