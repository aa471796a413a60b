// engine/wait_strategy.h
//
// Wait strategies: what a thread does while nothing is available (a
// subscriber with no new event, a publisher facing back-pressure). They are
// template parameters, so the choice costs no virtual call. Each is owned by
// one thread; `idle()` is called once per empty attempt and `reset()` after
// progress.
//
//   BusySpin  burns its core for the lowest latency; only for pinned threads
//             with a core of their own.
//   Yield     spins a little, then gives the core away with sched_yield().
//   Backoff   spins, yields, then sleeps with a growing delay (up to 1 ms):
//             cheap when idle, slower to wake.
//   Block     sleeps on the ring's wake-up word until a publisher commits;
//             costs publishers a notify only while someone is asleep.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tradpal {

class Ring;

namespace detail {
// Tells the core we are spinning: on x86 `pause` stops the pipeline from
// flooding the memory system with speculative loads of the watched line.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Implemented in ring.cpp: sleeps until a commit after `epoch` or the timeout.
void block_until_commit(const Ring& ring, std::chrono::microseconds timeout) noexcept;
}  // namespace detail

struct BusySpin {
  void idle(const Ring&) noexcept { detail::cpu_relax(); }
  void reset() noexcept {}
};

struct Yield {
  void idle(const Ring&) noexcept {
    if (spins_ < kSpins) {
      ++spins_;
      detail::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  void reset() noexcept { spins_ = 0; }

 private:
  static constexpr int kSpins = 100;
  int spins_ = 0;
};

struct Backoff {
  void idle(const Ring&) noexcept {
    if (step_ < kSpins) {
      detail::cpu_relax();
    } else if (step_ < kSpins + kYields) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(sleep_);
      sleep_ = std::min(sleep_ * 2, kMaxSleep);
    }
    ++step_;
  }
  void reset() noexcept {
    step_ = 0;
    sleep_ = kMinSleep;
  }

 private:
  static constexpr int kSpins = 64;
  static constexpr int kYields = 64;
  static constexpr std::chrono::microseconds kMinSleep{1};
  static constexpr std::chrono::microseconds kMaxSleep{1000};
  int step_ = 0;
  std::chrono::microseconds sleep_ = kMinSleep;
};

struct Block {
  void idle(const Ring& ring) noexcept {
    if (spins_ < kSpins) {
      ++spins_;
      detail::cpu_relax();
      return;
    }
    // The timeout only bounds a missed wake-up (see Ring::notify_commit);
    // an ordinary wake-up comes from the publisher's notify.
    detail::block_until_commit(ring, std::chrono::microseconds(1000));
  }
  void reset() noexcept { spins_ = 0; }

 private:
  static constexpr int kSpins = 64;
  int spins_ = 0;
};

}  // namespace tradpal
