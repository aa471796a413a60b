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
//   Block     sleeps on the ring's wake-up word until a publisher commits.
//             Once a ring has had a sleeper, its publishers pay one locked
//             read-modify-write per commit (and a futex wake only while
//             someone sleeps).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <type_traits>

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

// Implemented in ring.cpp: registers as a sleeper, and unless ready() is
// already true, sleeps until a publisher commits or the timeout passes.
void block_until_commit(const Ring& ring, std::chrono::microseconds timeout, bool (*ready)(const void*),
                        const void* context) noexcept;
}  // namespace detail

// Every strategy also takes a readiness check: idle(ring, ready). Only Block
// uses it (to close the race between "nothing there" and falling asleep);
// the others ignore it.

struct BusySpin {
  void idle(const Ring&) noexcept { detail::cpu_relax(); }
  template <typename Ready>
  void idle(const Ring& ring, Ready&&) noexcept {
    idle(ring);
  }
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
  template <typename Ready>
  void idle(const Ring& ring, Ready&&) noexcept {
    idle(ring);
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
  template <typename Ready>
  void idle(const Ring& ring, Ready&&) noexcept {
    idle(ring);
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
  // Without a readiness check a wake-up can be missed in the window between
  // the caller's last look and falling asleep; the timeout bounds that.
  void idle(const Ring& ring) noexcept {
    idle(ring, [] { return false; });
  }
  // With one, no wake-up is missed once the ring is armed: the publisher's
  // commit and our check are ordered by its read-modify-write of the sleeper
  // count and our registration on the same word. (The very first sleeper of a ring may still wait
  // out one timeout: publishers learn of `armed` without a fence.) Block is
  // for subscribers; a back-pressured publisher is woken by no one, so it
  // would sleep the whole timeout each round: publishers use Backoff.
  template <typename Ready>
  void idle(const Ring& ring, Ready&& ready) noexcept {
    if (spins_ < kSpins) {
      ++spins_;
      detail::cpu_relax();
      return;
    }
    using R = std::remove_reference_t<Ready>;
    detail::block_until_commit(
        ring, std::chrono::microseconds(1000),
        [](const void* c) { return static_cast<bool>((*static_cast<const R*>(c))()); }, &ready);
  }
  void reset() noexcept { spins_ = 0; }

 private:
  static constexpr int kSpins = 64;
  int spins_ = 0;
};

}  // namespace tradpal
