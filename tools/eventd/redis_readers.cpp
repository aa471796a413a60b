#include "tools/eventd/redis_readers.h"

namespace tradpal::eventd {

redis::EventStore& Reader::store() {
  if (!store_) store_ = std::make_unique<redis::EventStore>(options_);
  return *store_;
}

RedisReaders::RedisReaders(redis::EventStoreOptions options, std::size_t threads, Post post) : post_(std::move(post)) {
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, options] { loop(Reader(options)); });
  }
}

void RedisReaders::enqueue(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void RedisReaders::loop(Reader reader) {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job(reader);
  }
}

void RedisReaders::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Jobs that never started are dropped here, on the caller's (the loop's)
  // thread, so the Responders they own are released where they belong.
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(jobs_);
  }
}

}  // namespace tradpal::eventd
