#include "engine/clock.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace tradpal {

namespace detail {
TimestampNs realtime_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<TimestampNs>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constinit TscClockState tsc_clock{};
}  // namespace detail

namespace {

using detail::TscClockState;
constexpr int kShift = TscClockState::kShift;
constexpr std::int64_t kCalibrationNs = 2'000'000;

#if defined(__x86_64__)
bool tsc_invariant() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) == 0 || a < 0x80000007u) return false;
  if (__get_cpuid(0x80000007u, &a, &b, &c, &d) == 0) return false;
  return (d & (1u << 8)) != 0;
}

std::uint64_t ticks() noexcept { return __rdtsc(); }
#else
bool tsc_invariant() noexcept { return false; }
std::uint64_t ticks() noexcept { return 0; }
#endif

// A (CLOCK_REALTIME, TSC) pair read as close together as the machine allows:
// the TSC is read on both sides of clock_gettime and the tightest of a few
// tries kept, its midpoint standing for the moment of the clock read.
struct Pair {
  TimestampNs ns;
  std::uint64_t tsc;
};

Pair read_pair() noexcept {
  Pair best{};
  std::uint64_t best_gap = ~std::uint64_t{0};
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t before = ticks();
    const TimestampNs ns = detail::realtime_ns();
    const std::uint64_t after = ticks();
    if (after - before < best_gap) {
      best_gap = after - before;
      best = {ns, before + (after - before) / 2};
    }
  }
  return best;
}

std::uint64_t per_tick(const Pair& a, const Pair& b) noexcept {
  if (b.ns <= a.ns || b.tsc <= a.tsc) return 0;
  const auto ns = static_cast<unsigned __int128>(b.ns - a.ns) << kShift;
  return static_cast<std::uint64_t>(ns / (b.tsc - a.tsc));
}

// Release stores: each is ordered after the odd version (or, at calibration,
// before the mode) that announces it.
void store(const Pair& anchor, std::uint64_t mult) noexcept {
  TscClockState& c = detail::tsc_clock;
  c.anchor_ns.store(anchor.ns, std::memory_order_release);
  c.anchor_tsc.store(anchor.tsc, std::memory_order_release);
  c.mult.store(mult, std::memory_order_release);
}

// The first caller measures the rate over about 2 ms; callers meanwhile read
// clock_gettime. Ends in kTsc or, where the TSC is not to be trusted (or
// TRADPAL_CLOCK=realtime), kRealtime.
void calibrate() noexcept {
  TscClockState& c = detail::tsc_clock;
  std::uint32_t expected = TscClockState::kUncalibrated;
  if (!c.mode.compare_exchange_strong(expected, TscClockState::kCalibrating, std::memory_order_acq_rel)) return;
  const char* forced = std::getenv("TRADPAL_CLOCK");
  std::uint64_t mult = 0;
  Pair second{};
  if ((forced == nullptr || std::strcmp(forced, "realtime") != 0) && tsc_invariant()) {
    const Pair first = read_pair();
    second = read_pair();
    while (second.ns - first.ns < kCalibrationNs) second = read_pair();
    // A TSC that does not advance is not usable: per_tick answers 0.
    mult = per_tick(first, second);
  }
  if (mult == 0) {
    c.mode.store(TscClockState::kRealtime, std::memory_order_release);
    return;
  }
  store(second, mult);
  c.mode.store(TscClockState::kTsc, std::memory_order_release);
}

// One reader takes version v -> v+1, measures, stores, and ends on v+2;
// readers that lose the race read clock_gettime meanwhile.
TimestampNs reanchor() noexcept {
  TscClockState& c = detail::tsc_clock;
  std::uint32_t v = c.version.load(std::memory_order_acquire);
  if ((v & 1) != 0 || !c.version.compare_exchange_strong(v, v + 1, std::memory_order_acq_rel,
                                                         std::memory_order_relaxed)) {
    return detail::realtime_ns();
  }
  const Pair old{c.anchor_ns.load(std::memory_order_relaxed), c.anchor_tsc.load(std::memory_order_relaxed)};
  const std::uint64_t tsc = ticks();
  if (tsc > old.tsc) {
    const auto elapsed = static_cast<std::int64_t>(
        (static_cast<unsigned __int128>(tsc - old.tsc) * c.mult.load(std::memory_order_relaxed)) >> kShift);
    if (elapsed < TscClockState::kReanchorNs) {
      // Another reader re-anchored between our look and our CAS.
      c.version.store(v + 2, std::memory_order_release);
      return old.ns + elapsed;
    }
  }
  const Pair now = read_pair();
  const std::uint64_t mult = per_tick(old, now);
  // A clock set backwards or a wild reading keeps the old rate.
  store(now, mult != 0 ? mult : c.mult.load(std::memory_order_relaxed));
  c.version.store(v + 2, std::memory_order_release);
  return now.ns;
}

}  // namespace

namespace detail {
TimestampNs now_ns_slow() noexcept {
  TscClockState& c = tsc_clock;
  std::uint32_t mode = c.mode.load(std::memory_order_acquire);
  if (mode == TscClockState::kUncalibrated) {
    calibrate();
    mode = c.mode.load(std::memory_order_acquire);
  }
  if (mode != TscClockState::kTsc) return realtime_ns();
  // The fast path found the anchor being replaced, or a second old.
  if ((c.version.load(std::memory_order_acquire) & 1) != 0) return realtime_ns();
  return reanchor();
}
}  // namespace detail

std::string_view clock_source() noexcept {
  TscClockState& c = detail::tsc_clock;
  if (c.mode.load(std::memory_order_acquire) == TscClockState::kUncalibrated) calibrate();
  // A caller racing the first calibration sees "clock_gettime" until it ends.
  return c.mode.load(std::memory_order_acquire) == TscClockState::kTsc ? "tsc" : "clock_gettime";
}

}  // namespace tradpal
