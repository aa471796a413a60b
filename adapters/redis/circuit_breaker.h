// adapters/redis/circuit_breaker.h
//
// CircuitBreaker: closed / open / half-open, as health checks see a Redis
// connection. Only the I/O thread records outcomes; any thread may read
// state() (a relaxed atomic: health is a snapshot, not a synchronisation).
//
//   closed     requests flow; `failure_threshold` consecutive failures open it
//   open       no requests; after `open_for` the next attempt is a probe
//   half_open  one probe in flight: success closes, failure opens again
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace tradpal::redis {

enum class BreakerState : std::uint8_t { closed = 0, open = 1, half_open = 2 };

[[nodiscard]] constexpr std::string_view to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "unknown";
}

struct BreakerOptions {
  unsigned failure_threshold = 3;
  std::chrono::milliseconds open_for{1000};
};

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CircuitBreaker(BreakerOptions options = {}) noexcept : options_(options) {}

  [[nodiscard]] BreakerState state() const noexcept { return state_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t opened_count() const noexcept { return opened_.load(std::memory_order_relaxed); }

  // I/O thread: may a request (or a connection attempt) go out now? An open
  // breaker whose time is up turns half-open and lets this one probe through.
  [[nodiscard]] bool allow(Clock::time_point now = Clock::now()) noexcept {
    switch (state()) {
      case BreakerState::closed: return true;
      case BreakerState::half_open: return true;
      case BreakerState::open:
        if (now < open_until_) return false;
        state_.store(BreakerState::half_open, std::memory_order_relaxed);
        return true;
    }
    return false;
  }
  // Time left before an open breaker lets a probe through (zero otherwise).
  [[nodiscard]] Clock::duration remaining_open(Clock::time_point now = Clock::now()) const noexcept {
    return state() == BreakerState::open && open_until_ > now ? open_until_ - now : Clock::duration::zero();
  }

  void record_success() noexcept {
    failures_ = 0;
    state_.store(BreakerState::closed, std::memory_order_relaxed);
  }
  void record_failure(Clock::time_point now = Clock::now()) noexcept {
    ++failures_;
    if (state() == BreakerState::half_open || failures_ >= options_.failure_threshold) {
      if (state() != BreakerState::open) opened_.fetch_add(1, std::memory_order_relaxed);
      state_.store(BreakerState::open, std::memory_order_relaxed);
      open_until_ = now + options_.open_for;
    }
  }

 private:
  BreakerOptions options_;
  unsigned failures_ = 0;
  Clock::time_point open_until_{};
  std::atomic<BreakerState> state_{BreakerState::closed};
  std::atomic<std::uint64_t> opened_{0};
};

}  // namespace tradpal::redis
