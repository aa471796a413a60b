// A consumer-group member in a process of its own, so a test can kill -9 it
// in the middle of a batch. Usage:
//   redis_consumer_child <redis-url> <stream> <group> <consumer> <log-file> <ms-per-event>
// Each handled entry id is appended to <log-file> (flushed) before the
// handler returns, i.e. before its XACK can be sent.
#include <cstdio>
#include <string>
#include <thread>

#include "adapters/redis/io_thread.h"
#include "adapters/redis/remote_subscription.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s url stream group consumer log ms\n", argv[0]);
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
  RemoteSubscription sub(io, o);
  sub.on_any([&](const StoredEvent& e) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    std::fprintf(log, "%s\n", e.id.c_str());
    std::fflush(log);
    return true;
  });
  sub.start();
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}
