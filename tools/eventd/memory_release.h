// tools/eventd/memory_release.h
//
// MemoryRelease: gives the heap pages that departed clients made eventd
// allocate back to the system. glibc keeps freed memory inside its heap
// (between live blocks, and below a trim threshold it raises after large
// frees), so after a burst of slow clients RSS stayed near its peak although
// every buffer was freed. Once a second, if a connection closed since the
// last look, it calls malloc_trim(0), which also releases free pages in the
// middle of the heap. Loop thread only; close() before the loop ends.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace tradpal::eventd {

class MemoryRelease {
 public:
  // `closed_connections`: a count that grows as connections close.
  MemoryRelease(uv_loop_t* loop, std::function<std::uint64_t()> closed_connections);
  MemoryRelease(const MemoryRelease&) = delete;
  MemoryRelease& operator=(const MemoryRelease&) = delete;

  void close() noexcept;
  [[nodiscard]] std::uint64_t trims() const noexcept { return trims_; }

 private:
  static void on_timer(uv_timer_t* timer) noexcept;

  uv_timer_t timer_{};
  std::function<std::uint64_t()> closed_connections_;
  std::uint64_t seen_ = 0;
  std::uint64_t trims_ = 0;
  bool closed_ = false;
};

}  // namespace tradpal::eventd
