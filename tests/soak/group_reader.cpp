// soak_group_reader: one consumer of a Redis consumer group, for the soak's
// reconciliation. It runs a RemoteSubscription on the stream and writes the
// id of every entry it handled, one per line, to OUT; SIGTERM or SIGINT stop
// it (acknowledgements in flight are answered first) and it prints its
// counters to stderr.
//
//   soak_group_reader REDIS_URL STREAM GROUP CONSUMER OUT
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "adapters/redis/io_thread.h"
#include "adapters/redis/redis_url.h"
#include "adapters/redis/remote_subscription.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: soak_group_reader REDIS_URL STREAM GROUP CONSUMER OUT\n");
    return 2;
  }
  using namespace tradpal::redis;
  // Signals are taken by sigwait below, in this thread only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::FILE* out = std::fopen(argv[5], "w");
  if (out == nullptr) {
    std::perror(argv[5]);
    return 1;
  }
  try {
    RemoteSubscriptionOptions options;
    options.connection.url = RedisUrl::parse(argv[1]);
    options.connection.name = std::string("group reader ") + argv[4];
    options.stream = argv[2];
    options.group = argv[3];
    options.consumer = argv[4];
    options.count = 200;
    options.block = std::chrono::milliseconds(500);
    IoThread io;
    RemoteSubscription subscription(io, options);
    // Runs on the I/O thread only, so the file needs no lock.
    subscription.on_any([out](const StoredEvent& stored) {
      std::fputs(stored.id.c_str(), out);
      std::fputc('\n', out);
      return true;
    });
    subscription.start();
    int signal = 0;
    sigwait(&signals, &signal);
    subscription.stop();
    io.run_sync([out] { std::fflush(out); });
    std::fprintf(stderr, "group reader %s: handled %llu failed %llu claimed %llu dead-lettered %llu skipped %llu\n",
                 argv[4], static_cast<unsigned long long>(subscription.handled()),
                 static_cast<unsigned long long>(subscription.failed()),
                 static_cast<unsigned long long>(subscription.claimed()),
                 static_cast<unsigned long long>(subscription.dead_lettered()),
                 static_cast<unsigned long long>(subscription.skips().total()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak_group_reader: %s\n", e.what());
    std::fclose(out);
    return 1;
  }
  return std::fclose(out) == 0 ? 0 : 1;
}
