// A publishing process of its own: a Bus and a Persister, as a trading
// process links them, so a test can check what another process sees of its
// events through the shared stream. Usage:
//   redis_publisher_child <redis-url> <stream> <count> <out-file>
// Publishes <count> events, then writes "<event id> <message id>" per
// acknowledged event to <out-file> and exits 0 (1 when any was not
// acknowledged within 20 s).
#include <cstdio>
#include <string>
#include <vector>

#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/persister.h"
#include "engine/bus.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s url stream count out-file\n", argv[0]);
    return 2;
  }
  using namespace tradpal;
  using namespace tradpal::redis;
  const int count = std::stoi(argv[3]);
  Bus bus;
  IoThread io;
  DurabilityTracker tracker;
  PersisterOptions o;
  o.connection.url = RedisUrl::parse(argv[1]);
  o.stream = argv[2];
  o.listener = &tracker;
  Persister persister(bus, io, o);
  std::vector<std::pair<std::string, DurabilityTracker::Ticket>> sent;
  for (int i = 0; i < count; ++i) {
    auto ticket = tracker.ticket();
    const std::string data = "{\"n\": " + std::to_string(i) + "}";
    Published out;
    if (bus.publish({.type = EventType::order_executed, .source = "child", .data = data, .correlation = ticket.token},
                    &out) != PublishStatus::ok) {
      return 1;
    }
    sent.emplace_back(out.event_id.to_string(), std::move(ticket));
  }
  FILE* f = std::fopen(argv[4], "w");
  if (f == nullptr) return 2;
  int status = 0;
  for (auto& [event_id, ticket] : sent) {
    if (ticket.message_id.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      status = 1;
      break;
    }
    const std::string id = ticket.message_id.get();
    if (id.empty()) status = 1;
    std::fprintf(f, "%s %s\n", event_id.c_str(), id.c_str());
  }
  std::fclose(f);
  persister.stop();
  return status;
}
