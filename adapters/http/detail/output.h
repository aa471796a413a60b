// adapters/http/detail/output.h
//
// Output: the write side of one connection's socket. Bytes go out in the
// order they are given: at once with uv_try_write when nothing is queued
// (most answers fit the socket buffer), the remainder through uv_write; or
// they are gathered while the server is corked and written as one piece by
// flush_gathered(). It counts what the client has not taken yet (unsent())
// and since when output has waited with none of it taken (stalled_ms()):
// the connection bases its back-pressure and stall bounds on these.
//
// After the first failed write it writes nothing more and reports failed()
// (the client is gone); the owner hears of completions and failures through
// Listener, always from a libuv callback or from inside write(). Loop thread
// only. The owner keeps the Output alive until the socket's close callback:
// libuv completes cancelled writes before it.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tradpal::http::detail {

class Output {
 public:
  struct Listener {
    // A queued write went out whole.
    virtual void output_taken() noexcept = 0;
    // A write failed: the client is gone.
    virtual void output_failed() noexcept = 0;

   protected:
    ~Listener() = default;
  };

  enum class Sent : std::uint8_t {
    kAll,     // written to the socket at once
    kQueued,  // some or all of it waits for the socket (unsent() > 0)
    kFailed,  // the client is gone (listener told)
    kNone,    // nothing written: no bytes, or failed() earlier
  };

  Output(uv_loop_t* loop, uv_tcp_t* tcp, Listener& listener) noexcept
      : loop_(loop), stream_(reinterpret_cast<uv_stream_t*>(tcp)), listener_(listener) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Writes `bytes` after everything written before. Throws std::bad_alloc.
  Sent write(std::string bytes);
  // Keeps `bytes` for flush_gathered(). Throws std::bad_alloc.
  void gather(std::string_view bytes) { gathered_ += bytes; }
  // Writes what was gathered.
  Sent flush_gathered();

  [[nodiscard]] bool failed() const noexcept { return failed_; }
  // Nothing gathered and nothing waiting in libuv.
  [[nodiscard]] bool flushed() const noexcept { return in_flight_ == 0 && gathered_.empty(); }
  // Bytes given and not yet taken by the client: gathered or queued in libuv.
  [[nodiscard]] std::size_t unsent() const noexcept {
    return gathered_.size() + uv_stream_get_write_queue_size(stream_);
  }
  // How long queued output has waited with none of it taken (0 when none waits).
  [[nodiscard]] std::uint64_t stalled_ms() const noexcept;

 private:
  struct WriteRequest;
  static void on_write(uv_write_t* req, int status) noexcept;
  Sent fail() noexcept;

  uv_loop_t* loop_;
  uv_stream_t* stream_;
  Listener& listener_;
  std::string gathered_;        // written while the server was corked
  std::size_t in_flight_ = 0;   // uv_write requests not completed
  std::uint64_t waiting_since_ = 0;  // loop ms: output started waiting, or last went out
  bool failed_ = false;
};

}  // namespace tradpal::http::detail
