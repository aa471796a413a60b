// engine/subscriber_thread.h
//
// SubscriberThread: runs a Subscription on a thread of its own, polling with
// a wait strategy (BusySpin, Yield, Backoff or Block) while nothing is
// available. The handler runs on that thread only. stop() (or destruction)
// ends the loop after the current batch; when the bus is closed the thread
// drains what is left and ends by itself.
//
//   SubscriberThread t = SubscriberThread::start<Yield>(
//       bus.subscribe({.types = {EventType::order_executed}}),
//       [](const EventView& e, bool) { ... });
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <stop_token>
#include <thread>
#include <utility>

#include "engine/subscription.h"
#include "engine/wait_strategy.h"

namespace tradpal {

class SubscriberThread {
 public:
  SubscriberThread() = default;
  SubscriberThread(SubscriberThread&&) noexcept = default;
  SubscriberThread& operator=(SubscriberThread&& other) noexcept {
    stop();
    thread_ = std::move(other.thread_);
    return *this;
  }
  ~SubscriberThread() { stop(); }

  template <typename Wait = Yield, typename Handler>
  [[nodiscard]] static SubscriberThread start(Subscription subscription, Handler handler,
                                              std::size_t batch_limit = 1024) {
    SubscriberThread t;
    t.thread_ = std::jthread([sub = std::move(subscription), handler = std::move(handler),
                              batch_limit](std::stop_token stop) mutable {
      Wait wait;
      while (!stop.stop_requested()) {
        if (sub.poll(handler, batch_limit) != 0) {
          wait.reset();
        } else if (sub.drained()) {
          break;
        } else {
          wait.idle(sub.ring(), [&sub] { return sub.available() || sub.ring().closed(); });
        }
      }
    });
    return t;
  }

  [[nodiscard]] bool running() const noexcept { return thread_.joinable(); }
  // Waits for the thread to end by itself (the bus was closed and drained).
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  void stop() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
  }

 private:
  std::jthread thread_;
};

}  // namespace tradpal
