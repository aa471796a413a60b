#include "tools/eventd/memory_release.h"

#include <malloc.h>

#include <utility>

namespace tradpal::eventd {

MemoryRelease::MemoryRelease(uv_loop_t* loop, std::function<std::uint64_t()> closed_connections)
    : closed_connections_(std::move(closed_connections)) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  // Not a reason to keep the loop alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
  uv_timer_start(&timer_, &MemoryRelease::on_timer, 1000, 1000);
}

void MemoryRelease::close() noexcept {
  if (closed_) return;
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void MemoryRelease::on_timer(uv_timer_t* timer) noexcept {
  auto* self = static_cast<MemoryRelease*>(timer->data);
  std::uint64_t closed = 0;
  try {
    closed = self->closed_connections_();
  } catch (...) {
    return;
  }
  if (closed == self->seen_) return;
  self->seen_ = closed;
  malloc_trim(0);
  ++self->trims_;
}

}  // namespace tradpal::eventd
