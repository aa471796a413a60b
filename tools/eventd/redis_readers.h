// tools/eventd/redis_readers.h
//
// RedisReaders: a few threads that run the service's blocking Redis reads
// (GET /events, /events/stats, replays, stream-resume gaps, the stream length
// for /metrics), so the HTTP loop never waits on Redis. Each thread owns one
// Reader: an EventStore of its own, connected on first use and rebuilt
// after a failure. run() takes the work (on a reader thread) and
// the completion (posted back to the loop thread with the outcome); an
// exception thrown by the work becomes the outcome's error text, so none
// escapes a thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/http/task.h"
#include "adapters/redis/event_store.h"

namespace tradpal::eventd {

class Reader {
 public:
  explicit Reader(redis::EventStoreOptions options) : options_(std::move(options)) {}
  // Connects on first use; throws redis::RedisError when Redis cannot be reached.
  redis::EventStore& store();
  // Forgets the connection after a failure, so the next job reconnects.
  void reset() noexcept { store_.reset(); }

 private:
  redis::EventStoreOptions options_;
  std::unique_ptr<redis::EventStore> store_;
};

template <typename T>
struct Outcome {
  std::optional<T> value;
  std::string error;  // set when value is empty
};

class RedisReaders {
 public:
  using Post = std::function<bool(http::Task)>;

  RedisReaders(redis::EventStoreOptions options, std::size_t threads, Post post);
  ~RedisReaders() { stop(); }
  RedisReaders(const RedisReaders&) = delete;
  RedisReaders& operator=(const RedisReaders&) = delete;

  // Runs work(Reader&) -> T on a reader thread, then done(Outcome<T>) on the
  // loop thread. `done` may own loop-thread-only objects (a Responder): it
  // travels inside a shared_ptr that only the loop thread releases last.
  template <typename T, typename Work, typename Done>
  void run(Work work, Done done) {
    auto on_loop = std::make_shared<Done>(std::move(done));
    enqueue([this, work = std::move(work), on_loop = std::move(on_loop)](Reader& reader) mutable {
      Outcome<T> outcome;
      try {
        outcome.value.emplace(work(reader));
      } catch (const std::exception& e) {
        reader.reset();
        outcome.error = e.what();
      } catch (...) {
        reader.reset();
        outcome.error = "unknown error";
      }
      // Move our reference into the task: if the post succeeds the loop
      // thread holds the last one.
      post_([on_loop = std::move(on_loop), outcome = std::move(outcome)]() mutable { (*on_loop)(std::move(outcome)); });
    });
  }

  // Lets running jobs finish, drops queued ones, joins. Idempotent.
  void stop();

 private:
  using Job = std::function<void(Reader&)>;
  void enqueue(Job job);
  void loop(Reader reader);

  Post post_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tradpal::eventd
