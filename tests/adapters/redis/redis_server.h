// tests/adapters/redis/redis_server.h
//
// RedisServer: a real redis-server (found on PATH) for integration tests,
// started on a free TCP port and a unix socket in a fresh temporary
// directory, with appendonly yes + appendfsync always so a kill -9 loses
// nothing it acknowledged. It can be killed, paused (SIGSTOP), resumed and
// restarted on the same directory and port. The destructor stops it and
// removes the directory. One test thread drives it.
//
//   RedisServer server;                      // answers PING when this returns
//   SomeClient c(server.url());              // "redis://127.0.0.1:<port>"
//   server.kill9(); server.start();          // same data, same port
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace tradpal::testing {

class RedisServer {
 public:
  struct Options {
    bool appendonly = true;
    std::string appendfsync = "always";
    std::vector<std::string> extra_args;  // e.g. {"--requirepass", "secret"}
    int port = 0;                         // 0: a free port
  };

  RedisServer() : RedisServer(Options{}) {}
  // Starts the server; throws std::runtime_error when it does not answer.
  explicit RedisServer(Options options);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  [[nodiscard]] std::string unix_path() const { return dir_ + "/redis.sock"; }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string unix_url() const { return "unix://" + unix_path(); }
  [[nodiscard]] bool running() const noexcept { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // (Re)starts on the same port and directory and waits until it answers
  // PONG (after replaying its append-only file).
  void start();
  void kill9();       // SIGKILL and reap: no shutdown, no final fsync
  void pause();       // SIGSTOP: the socket stays open, nothing answers
  void resume();      // SIGCONT
  void stop();        // SIGTERM and reap

  // A TCP port nothing listens on right now (bound and released).
  [[nodiscard]] static int free_port();
  // True when nothing listens on 127.0.0.1:port now (it could be bound).
  [[nodiscard]] static bool port_free(int port);
  // Waits until redis at 127.0.0.1:port answers PING with PONG: a server
  // still loading its append-only file ("-LOADING") is not ready yet.
  // `password` is sent with AUTH first when the server requires one.
  [[nodiscard]] static bool wait_for_ping(int port, std::chrono::milliseconds timeout,
                                          const std::string& password = {});

 private:
  // The --requirepass of extra_args, or empty.
  [[nodiscard]] std::string password() const;

  Options options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Polls `condition` every millisecond until it holds or `timeout` passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    struct timespec ts {0, 1'000'000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace tradpal::testing
