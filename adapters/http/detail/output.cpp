#include "adapters/http/detail/output.h"

#include <utility>

namespace tradpal::http::detail {

// A write that libuv still references: the bytes must live until on_write.
struct Output::WriteRequest {
  uv_write_t req{};
  Output* output = nullptr;
  std::string bytes;
};

Output::Sent Output::fail() noexcept {
  failed_ = true;
  listener_.output_failed();
  return Sent::kFailed;
}

Output::Sent Output::write(std::string bytes) {
  if (failed_ || bytes.empty()) return Sent::kNone;
  if (in_flight_ == 0) {
    // Nothing was waiting: whatever waits from here waits since now. And
    // only with nothing queued may bytes be tried at once, or they would
    // overtake earlier ones.
    waiting_since_ = uv_now(loop_);
    uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
    const int written = uv_try_write(stream_, &buf, 1);
    if (written == static_cast<int>(bytes.size())) return Sent::kAll;
    if (written > 0) {
      bytes.erase(0, static_cast<std::size_t>(written));
    } else if (written != UV_EAGAIN) {
      return fail();
    }
  }
  auto* w = new WriteRequest;
  w->bytes = std::move(bytes);
  w->req.data = w;
  w->output = this;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  if (uv_write(&w->req, stream_, &buf, 1, &Output::on_write) != 0) {
    delete w;
    return fail();
  }
  ++in_flight_;
  return Sent::kQueued;
}

Output::Sent Output::flush_gathered() {
  if (gathered_.empty()) return Sent::kNone;
  std::string bytes;
  bytes.swap(gathered_);
  return write(std::move(bytes));
}

std::uint64_t Output::stalled_ms() const noexcept {
  if (in_flight_ == 0) return 0;
  const std::uint64_t now = uv_now(loop_);
  return now > waiting_since_ ? now - waiting_since_ : 0;
}

void Output::on_write(uv_write_t* req, int status) noexcept {
  auto* w = static_cast<WriteRequest*>(req->data);
  Output* output = w->output;
  delete w;
  --output->in_flight_;
  if (status < 0) {
    if (!output->failed_) output->fail();
    return;
  }
  output->waiting_since_ = uv_now(output->loop_);  // the client took a whole write
  output->listener_.output_taken();
}

}  // namespace tradpal::http::detail
