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

#include <string_view>

#include "engine/timestamp.h"

namespace tradpal {

// The clock now_ns() reads: "tsc" or "clock_gettime".
[[nodiscard]] std::string_view clock_source() noexcept;

namespace detail {
// CLOCK_REALTIME through clock_gettime, always.
[[nodiscard]] TimestampNs realtime_ns() noexcept;
}  // namespace detail

}  // namespace tradpal
