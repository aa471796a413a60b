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
}  // namespace detail

namespace {

constexpr int kShift = 32;                          // ns_per_tick in 32.32 fixed point
constexpr std::int64_t kReanchorNs = 1'000'000'000;  // re-anchor after about a second
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

class TscClock {
 public:
  TscClock() noexcept {
    const char* forced = std::getenv("TRADPAL_CLOCK");
    if ((forced != nullptr && std::strcmp(forced, "realtime") == 0) || !tsc_invariant()) return;
    const Pair first = read_pair();
    Pair second = read_pair();
    while (second.ns - first.ns < kCalibrationNs) second = read_pair();
    if (second.tsc <= first.tsc) return;  // a TSC that does not advance: not usable
    const std::uint64_t mult = per_tick(first, second);
    if (mult == 0) return;
    store(second, mult);
    usable_ = true;
  }

  [[nodiscard]] bool usable() const noexcept { return usable_; }

  TimestampNs now() noexcept {
    if (!usable_) return detail::realtime_ns();
    for (;;) {
      const std::uint32_t v = version_.load(std::memory_order_acquire);
      if ((v & 1) != 0) return detail::realtime_ns();  // being re-anchored right now
      // Acquire loads (plain moves on x86) keep the second look at the
      // version after them, without a fence ThreadSanitizer cannot see.
      const TimestampNs ns0 = anchor_ns_.load(std::memory_order_acquire);
      const std::uint64_t tsc0 = anchor_tsc_.load(std::memory_order_acquire);
      const std::uint64_t mult = mult_.load(std::memory_order_acquire);
      if (version_.load(std::memory_order_relaxed) != v) continue;
      const std::uint64_t tsc = ticks();
      // A TSC read on another core may lag the anchor by a few ticks.
      const std::uint64_t dt = tsc > tsc0 ? tsc - tsc0 : 0;
      const auto elapsed = static_cast<std::int64_t>((static_cast<unsigned __int128>(dt) * mult) >> kShift);
      if (elapsed >= kReanchorNs) return reanchor(v, Pair{ns0, tsc0});
      return ns0 + elapsed;
    }
  }

 private:
  static std::uint64_t per_tick(const Pair& a, const Pair& b) noexcept {
    if (b.ns <= a.ns || b.tsc <= a.tsc) return 0;
    const auto ns = static_cast<unsigned __int128>(b.ns - a.ns) << kShift;
    return static_cast<std::uint64_t>(ns / (b.tsc - a.tsc));
  }

  // Release stores: each is ordered after the odd version that announced it.
  void store(const Pair& anchor, std::uint64_t mult) noexcept {
    anchor_ns_.store(anchor.ns, std::memory_order_release);
    anchor_tsc_.store(anchor.tsc, std::memory_order_release);
    mult_.store(mult, std::memory_order_release);
  }

  // One reader takes version v → v+1, measures, stores, and ends on v+2;
  // readers that lose the race read clock_gettime meanwhile.
  TimestampNs reanchor(std::uint32_t v, const Pair& old) noexcept {
    if (!version_.compare_exchange_strong(v, v + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      return detail::realtime_ns();
    }
    const Pair now = read_pair();
    const std::uint64_t mult = per_tick(old, now);
    // A clock set backwards or a wild reading keeps the old rate.
    store(now, mult != 0 ? mult : mult_.load(std::memory_order_relaxed));
    version_.store(v + 2, std::memory_order_release);
    return now.ns;
  }

  bool usable_ = false;
  std::atomic<std::uint32_t> version_{0};
  std::atomic<TimestampNs> anchor_ns_{0};
  std::atomic<std::uint64_t> anchor_tsc_{0};
  std::atomic<std::uint64_t> mult_{0};
};

TscClock& clock() noexcept {
  static TscClock instance;
  return instance;
}

}  // namespace

std::string_view clock_source() noexcept { return clock().usable() ? "tsc" : "clock_gettime"; }

TimestampNs now_ns() noexcept { return clock().now(); }

}  // namespace tradpal
