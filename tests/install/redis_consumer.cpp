// A program outside the build tree using the installed Redis adapter with
// `pkg-config tradpal-events-redis` only: persists one event to the Redis
// given as argv[1], gets its message id, and reads it back.
#include <adapters/redis/durability_tracker.h>
#include <adapters/redis/event_store.h>
#include <adapters/redis/io_thread.h>
#include <adapters/redis/persister.h>
#include <engine/bus.h>

#include <chrono>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  using namespace tradpal;
  using namespace tradpal::redis;
  using namespace std::chrono_literals;
  Bus bus;
  IoThread io;  // outlives the Persister, declared after it is destroyed
  DurabilityTracker tracker;
  PersisterOptions options;
  options.connection.url = RedisUrl::parse(argv[1]);
  options.listener = &tracker;
  Persister persister(bus, io, options);
  auto ticket = tracker.ticket();
  if (bus.publish({.type = EventType::trading_signal,
                   .source = "installed",
                   .data = R"({"symbol": "ETH/USDT"})",
                   .correlation = ticket.token}) != PublishStatus::ok) {
    return 1;
  }
  if (ticket.message_id.wait_for(10s) != std::future_status::ready) {
    std::fprintf(stderr, "no acknowledgement: %s\n", persister.health().last_error.c_str());
    return 1;
  }
  const std::string id = ticket.message_id.get();
  EventStore store({.url = RedisUrl::parse(argv[1])});
  const auto events = store.get_events({}, std::nullopt, std::nullopt, 10);
  persister.stop();
  const bool ok = !id.empty() && events.size() == 1 && events[0].id == id && events[0].event.source == "installed";
  std::printf("installed Redis adapter: persisted %s, read back %zu event(s)\n", id.c_str(), events.size());
  return ok ? 0 : 1;
}
