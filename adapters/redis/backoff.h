// adapters/redis/backoff.h
//
// ReconnectBackoff: the delay before the next connection attempt, growing
// exponentially from `initial` to `max` with "equal jitter" (half the delay
// fixed, half random) so that many processes losing the same server do not
// reconnect in lock-step. Owned by one thread (the I/O loop); never throws.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace tradpal::redis {

struct BackoffOptions {
  std::chrono::milliseconds initial{50};
  std::chrono::milliseconds max{5000};
};

class ReconnectBackoff {
 public:
  explicit ReconnectBackoff(BackoffOptions options = {}) noexcept
      : options_(options), rng_(std::random_device{}()) {}

  // The delay before the next attempt; each call doubles the base.
  [[nodiscard]] std::chrono::milliseconds next() noexcept {
    const std::int64_t cap = std::max<std::int64_t>(options_.max.count(), 1);
    std::int64_t base = std::max<std::int64_t>(options_.initial.count(), 1);
    for (unsigned i = 0; i < attempts_ && base < cap; ++i) base *= 2;
    base = std::min(base, cap);
    ++attempts_;
    std::uniform_int_distribution<std::int64_t> jitter(0, base / 2);
    return std::chrono::milliseconds(base - base / 2 + jitter(rng_));
  }
  void reset() noexcept { attempts_ = 0; }
  [[nodiscard]] unsigned attempts() const noexcept { return attempts_; }

 private:
  BackoffOptions options_;
  unsigned attempts_ = 0;
  std::minstd_rand rng_;
};

}  // namespace tradpal::redis
