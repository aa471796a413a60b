// adapters/redis/io_thread.h
//
// IoThread: one thread running one libuv loop, on which the adapter's
// connections, timers and the persister live. Any thread may post() a task;
// tasks run on the loop thread in the order posted. Tasks travel through a
// lock-free queue and wake the loop with uv_async_send, which coalesces, so
// one wake-up drains everything queued. An exception thrown by a task is
// caught at the loop's edge, counted and logged; it never unwinds into libuv.
#pragma once

#include <uv.h>

#include <atomic>
#include <concurrentqueue/concurrentqueue.h>
#include <cstdint>
#include <functional>
#include <thread>

namespace tradpal::redis {

class IoThread {
 public:
  using Task = std::function<void()>;

  // Starts the thread. Throws std::runtime_error when libuv cannot set up.
  IoThread();
  // Stops the loop: runs the stop hooks, closes every handle, joins.
  // Aborts (with a message) while a Lease is held: see Lease.
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  // Any thread. Returns false once the thread is stopping (the task is dropped).
  bool post(Task task);
  // Any thread but the loop's: runs `task` on the loop thread and waits for it.
  // Returns false when the thread is stopping.
  bool run_sync(const Task& task);

  // Loop thread only: the loop every handle of this thread belongs to.
  [[nodiscard]] uv_loop_t* loop() noexcept { return &loop_; }
  [[nodiscard]] bool on_loop_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }
  [[nodiscard]] std::uint64_t task_exceptions() const noexcept {
    return task_exceptions_.load(std::memory_order_relaxed);
  }

  // Stops the loop thread: pending tasks run first, then every handle is
  // closed. Idempotent; the destructor calls it.
  void stop();

  // Held for its whole life by whatever runs on this thread (Persister,
  // StreamTail, RemoteSubscription). They must be destroyed before their
  // IoThread: destroying it while a lease is held is a lifetime bug, and
  // the destructor says so on stderr and aborts rather than let them use a
  // dead loop.
  class Lease {
   public:
    explicit Lease(IoThread& io) noexcept : io_(&io) { io.leases_.fetch_add(1, std::memory_order_relaxed); }
    ~Lease() { io_->leases_.fetch_sub(1, std::memory_order_release); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    IoThread* io_;
  };

 private:
  static void on_wake(uv_async_t* handle);
  void drain() noexcept;

  uv_loop_t loop_{};
  uv_async_t wake_{};
  moodycamel::ConcurrentQueue<Task> tasks_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> task_exceptions_{0};
  std::atomic<int> leases_{0};
  std::thread::id thread_id_;
  std::thread thread_;
};

}  // namespace tradpal::redis
