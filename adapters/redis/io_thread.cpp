#include "adapters/redis/io_thread.h"

#include <cstdio>
#include <cstdlib>

#include <future>
#include <stdexcept>
#include <string>

#include "adapters/redis/log.h"

namespace tradpal::redis {

IoThread::IoThread() {
  if (const int rc = uv_loop_init(&loop_); rc != 0) {
    throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
  }
  if (const int rc = uv_async_init(&loop_, &wake_, &IoThread::on_wake); rc != 0) {
    uv_loop_close(&loop_);
    throw std::runtime_error(std::string("uv_async_init: ") + uv_strerror(rc));
  }
  wake_.data = this;
  std::promise<std::thread::id> started;
  auto id = started.get_future();
  thread_ = std::thread([this, &started] {
    started.set_value(std::this_thread::get_id());
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
  thread_id_ = id.get();
}

IoThread::~IoThread() {
  if (const int held = leases_.load(std::memory_order_acquire); held != 0) {
    std::fprintf(stderr,
                 "tradpal-events: IoThread destroyed while %d Persister/StreamTail/RemoteSubscription still "
                 "run on it; destroy them before their IoThread\n",
                 held);
    std::abort();
  }
  stop();
}

bool IoThread::post(Task task) {
  if (stopping_.load(std::memory_order_acquire)) return false;
  tasks_.enqueue(std::move(task));
  uv_async_send(&wake_);
  return true;
}

bool IoThread::run_sync(const Task& task) {
  if (on_loop_thread()) {
    task();
    return true;
  }
  std::promise<void> done;
  auto f = done.get_future();
  if (!post([&] {
        try {
          task();
          done.set_value();
        } catch (...) {
          done.set_exception(std::current_exception());
        }
      })) {
    return false;
  }
  f.get();
  return true;
}

void IoThread::on_wake(uv_async_t* handle) {
  auto* self = static_cast<IoThread*>(handle->data);
  self->drain();
  if (self->stopping_.load(std::memory_order_acquire)) {
    // Every owner has closed its handles in its own stop task (they ran in
    // drain above); what is left open is closed here so uv_run returns.
    uv_walk(
        handle->loop,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
  }
}

void IoThread::drain() noexcept {
  Task task;
  while (tasks_.try_dequeue(task)) {
    try {
      task();
    } catch (const std::exception& e) {
      task_exceptions_.fetch_add(1, std::memory_order_relaxed);
      log(LogLevel::error, std::string("I/O task threw: ") + e.what());
    } catch (...) {
      task_exceptions_.fetch_add(1, std::memory_order_relaxed);
      log(LogLevel::error, "I/O task threw a non-standard exception");
    }
    task = nullptr;
  }
}

void IoThread::stop() {
  if (!thread_.joinable()) return;
  if (!stopping_.exchange(true, std::memory_order_acq_rel)) uv_async_send(&wake_);
  thread_.join();
  drain();
  uv_loop_close(&loop_);
}

}  // namespace tradpal::redis
