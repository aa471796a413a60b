// engine/clock.h
//
// The wall clock behind now_ns(): CLOCK_REALTIME read through the CPU's time
// stamp counter where that is safe. clock_gettime costs 20–30 ns under a
// hypervisor's clock source (kvm-clock) and is paid once per event; an
// `rdtsc` and a multiply cost a few.
//
//   ns = anchor_ns + (tsc - anchor_tsc) × ns_per_tick
//
// The anchor is a (CLOCK_REALTIME, TSC) pair; ns_per_tick is measured between
// two anchors. The first call calibrates over about 2 ms; after that the
// first reader that finds the anchor older than about a second re-anchors
// (one thread; the others read on). So the clock follows CLOCK_REALTIME,
// NTP's slewing included, to within the drift of one second: at a re-anchor
// it may step by that much (sub-microsecond in practice), forward or back,
// as CLOCK_REALTIME itself may.
//
// Used only where the TSC is invariant (CPUID 0x80000007 EDX bit 8: constant
// rate, running in every C-state) on x86-64; elsewhere, or with
// TRADPAL_CLOCK=realtime in the environment, every call is a clock_gettime.
// Any thread; lock-free (a seqlock of atomics), no allocation, no system call
// on the fast path.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "engine/timestamp.h"

namespace tradpal {

// The clock now_ns() reads: "tsc" or "clock_gettime".
[[nodiscard]] std::string_view clock_source() noexcept;

namespace detail {
// CLOCK_REALTIME through clock_gettime, always.
[[nodiscard]] TimestampNs realtime_ns() noexcept;

// The TSC clock's state, owned by clock.cpp and read inline by now_ns(): a
// seqlock (version odd while an anchor is being replaced) over the anchor
// and the rate. Constant-initialised, so reading it needs no guard.
struct TscClockState {
  static constexpr std::uint32_t kUncalibrated = 0, kTsc = 1, kRealtime = 2, kCalibrating = 3;
  static constexpr int kShift = 32;                          // mult: ns per tick in 32.32 fixed point
  static constexpr std::int64_t kReanchorNs = 1'000'000'000;  // re-anchor after about a second
  std::atomic<std::uint32_t> mode{kUncalibrated};
  std::atomic<std::uint32_t> version{0};
  std::atomic<TimestampNs> anchor_ns{0};
  std::atomic<std::uint64_t> anchor_tsc{0};
  std::atomic<std::uint64_t> mult{0};
};
extern constinit TscClockState tsc_clock;

// Everything but the fast path: the first call's calibration, a re-anchor,
// a read during one, and the clock_gettime fallback.
[[nodiscard]] TimestampNs now_ns_slow() noexcept;
}  // namespace detail

// Inline because it is on every publish: one rdtsc, a multiply and four
// loads of a line nobody writes but once a second.
inline TimestampNs now_ns() noexcept {
#if defined(__x86_64__)
  using detail::TscClockState;
  detail::TscClockState& c = detail::tsc_clock;
  if (c.mode.load(std::memory_order_acquire) == TscClockState::kTsc) {
    const std::uint32_t v = c.version.load(std::memory_order_acquire);
    // Acquire loads (plain moves on x86) keep the second look at the
    // version after them, without a fence ThreadSanitizer cannot see.
    const TimestampNs ns0 = c.anchor_ns.load(std::memory_order_acquire);
    const std::uint64_t tsc0 = c.anchor_tsc.load(std::memory_order_acquire);
    const std::uint64_t mult = c.mult.load(std::memory_order_acquire);
    if ((v & 1) == 0 && c.version.load(std::memory_order_relaxed) == v) {
      const std::uint64_t tsc = __rdtsc();
      // A TSC read on another core may lag the anchor by a few ticks.
      const std::uint64_t dt = tsc > tsc0 ? tsc - tsc0 : 0;
      const auto elapsed =
          static_cast<std::int64_t>((static_cast<unsigned __int128>(dt) * mult) >> TscClockState::kShift);
      if (elapsed < TscClockState::kReanchorNs) return ns0 + elapsed;
    }
  }
#endif
  return detail::now_ns_slow();
}

}  // namespace tradpal
