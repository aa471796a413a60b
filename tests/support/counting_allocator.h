// tests/support/counting_allocator.h
//
// Replaces every global operator new and delete with versions that count,
// for the tests that prove a path allocates nothing: read g_allocations
// (g_deallocations) before and after a window in which only the code under
// test runs. Counted from every thread.
//
// It defines the replacement functions themselves, so include it in exactly
// one source file of a test executable, and give that test an executable of
// its own: every allocation of the program goes through it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace tradpal::testing {

inline std::atomic<std::uint64_t> g_allocations{0};
inline std::atomic<std::uint64_t> g_deallocations{0};

inline void* counted_allocate(std::size_t size, std::size_t alignment) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  if (alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) return std::malloc(size);
  // aligned_alloc wants a size that is a multiple of the alignment.
  return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}

inline void* counted_allocate_or_throw(std::size_t size, std::size_t alignment) {
  if (void* p = counted_allocate(size, alignment)) return p;
  throw std::bad_alloc();
}

// Out of line, so that the compiler does not pair an inlined malloc with
// this free and warn about a mismatch that is not one.
[[gnu::noinline]] inline void counted_release(void* p) noexcept {
  if (p == nullptr) return;
  g_deallocations.fetch_add(1, std::memory_order_relaxed);
  std::free(p);
}

}  // namespace tradpal::testing

// ---- the replaced global allocation functions ---------------------------------

void* operator new(std::size_t size) { return tradpal::testing::counted_allocate_or_throw(size, 0); }
void* operator new[](std::size_t size) { return tradpal::testing::counted_allocate_or_throw(size, 0); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return tradpal::testing::counted_allocate(size, 0);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return tradpal::testing::counted_allocate(size, 0);
}
void* operator new(std::size_t size, std::align_val_t a) {
  return tradpal::testing::counted_allocate_or_throw(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return tradpal::testing::counted_allocate_or_throw(size, static_cast<std::size_t>(a));
}
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return tradpal::testing::counted_allocate(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return tradpal::testing::counted_allocate(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { tradpal::testing::counted_release(p); }
void operator delete[](void* p) noexcept { tradpal::testing::counted_release(p); }
void operator delete(void* p, std::size_t) noexcept { tradpal::testing::counted_release(p); }
void operator delete[](void* p, std::size_t) noexcept { tradpal::testing::counted_release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { tradpal::testing::counted_release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { tradpal::testing::counted_release(p); }
void operator delete(void* p, std::align_val_t) noexcept { tradpal::testing::counted_release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { tradpal::testing::counted_release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { tradpal::testing::counted_release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { tradpal::testing::counted_release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  tradpal::testing::counted_release(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  tradpal::testing::counted_release(p);
}
