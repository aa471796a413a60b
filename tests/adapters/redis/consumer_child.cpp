// A consumer-group member in a process of its own, so a test can kill -9 it
// in the middle of a batch. Usage:
//   redis_consumer_child <redis-url> <stream> <group> <consumer> <log-file> <ms-per-event> [partitions]
// Each handled entry id is appended to <log-file> (flushed) before the
// handler returns, i.e. before its XACK can be sent. With [partitions] the
// child reads every partition stream of <stream> and logs "<id> <event_id>"
// (ids repeat across partitions; event ids do not).
#include <cstdio>
#include <string>
#include <thread>

#include "adapters/redis/io_thread.h"
#include "adapters/redis/partitioned_remote_subscription.h"

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr, "usage: %s url stream group consumer log ms [partitions]\n", argv[0]);
    return 2;
  }
  using namespace tradpal::redis;
  FILE* log = std::fopen(argv[5], "a");
  if (log == nullptr) return 2;
  const int ms = std::stoi(argv[6]);
  IoThread io;
  RemoteSubscriptionOptions o;
  o.connection.url = RedisUrl::parse(argv[1]);
  o.stream = argv[2];
  o.group = argv[3];
  o.consumer = argv[4];
  o.block = std::chrono::milliseconds(100);
  const std::size_t partitions = argc == 8 ? std::stoul(argv[7]) : 1;
  auto partitioning = std::make_shared<const Partitioning>(o.stream, PartitionOptions{.count = partitions});
  PartitionedRemoteSubscription sub(io, partitioning, o);
  sub.on_any([&](const StoredEvent& e) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    if (argc == 8) {
      std::fprintf(log, "%s %s\n", e.id.c_str(), e.event.event_id.to_string().c_str());
    } else {
      std::fprintf(log, "%s\n", e.id.c_str());
    }
    std::fflush(log);
    return true;
  });
  sub.start();
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}
