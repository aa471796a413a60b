// tests/client/eventd_process.h
//
// EventdProcess: eventd (the binary at EVENTD_BINARY, or the path given) as
// a child process on a fixed port against a Redis URL, for tests and
// benchmarks of its clients. start() returns once /health answers healthy;
// it can be killed (kill -9) and started again on the same port. One thread
// drives it; the destructor stops it with SIGTERM.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/event_client.h"

namespace tradpal::testing {

class EventdProcess {
 public:
  // `env`: more settings for eventd, as variable and value.
  EventdProcess(std::string binary, std::string redis_url, int port,
                std::vector<std::pair<std::string, std::string>> env = {})
      : binary_(std::move(binary)), redis_url_(std::move(redis_url)), port_(port), env_(std::move(env)) {
    start();
  }
  ~EventdProcess() { stop(SIGTERM); }
  EventdProcess(const EventdProcess&) = delete;
  EventdProcess& operator=(const EventdProcess&) = delete;

  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      ::setenv("REDIS_URL", redis_url_.c_str(), 1);
      ::setenv("EVENT_SERVICE_PORT", port.c_str(), 1);
      ::setenv("EVENT_SERVICE_HOST", "127.0.0.1", 1);
      for (const auto& [name, value] : env_) ::setenv(name.c_str(), value.c_str(), 1);
      ::execl(binary_.c_str(), "eventd", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    using namespace std::chrono_literals;
    client::EventClient probe(
        {.url = url(), .connect_timeout = std::chrono::milliseconds(200), .request_timeout = 500ms});
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        if (probe.health_check().healthy) return;
      } catch (const client::ClientError&) {
      }
      std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error("eventd did not become healthy at " + url());
  }
  void stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int port() const noexcept { return port_; }

 private:
  std::string binary_;
  std::string redis_url_;
  int port_;
  std::vector<std::pair<std::string, std::string>> env_;
  pid_t pid_ = -1;
};

}  // namespace tradpal::testing
