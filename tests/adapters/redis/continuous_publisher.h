// tests/adapters/redis/continuous_publisher.h
//
// For the fault tests of the Redis adapter: a thread that publishes
// continuously with a DurabilityTracker ticket per event and records every
// acknowledged event's message id, and the check that what it published is
// in Redis exactly once.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/redis/durability_tracker.h"
#include "engine/bus.h"

namespace tradpal::testing {

class ContinuousPublisher {
 public:
  // data(k): the data of the k-th event published (k from 0; an event the
  // bus refused is tried again under the same k). Default: "{}".
  using Data = std::function<std::string(std::uint64_t k)>;

  ContinuousPublisher(Bus& bus, redis::DurabilityTracker& tracker, Data data = {})
      : bus_(bus), tracker_(tracker), data_(std::move(data)) {
    thread_ = std::thread([this] { run(); });
  }
  ~ContinuousPublisher() { stop(); }
  ContinuousPublisher(const ContinuousPublisher&) = delete;
  ContinuousPublisher& operator=(const ContinuousPublisher&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] std::uint64_t published() const { return published_.load(); }
  [[nodiscard]] std::size_t acked() {
    std::lock_guard lock(mutex_);
    return acked_.size();
  }
  // event id -> message id, for every event acknowledged so far.
  [[nodiscard]] std::map<std::string, std::string> acked_ids() {
    std::lock_guard lock(mutex_);
    return acked_;
  }

 private:
  void run() {
    while (!stop_) {
      Uuid id = Uuid::generate_v4();
      const std::string id_text = id.to_string();
      const std::uint64_t token = tracker_.track([this, id_text](std::string_view message_id) {
        std::lock_guard lock(mutex_);
        if (!message_id.empty()) acked_[id_text] = std::string(message_id);
      });
      const std::string data = data_ ? data_(published_.load()) : std::string("{}");
      const PublishStatus s = bus_.publish(
          {.type = EventType::market_data_update, .source = "feed", .data = data, .correlation = token, .event_id = id});
      if (s != PublishStatus::ok) {
        tracker_.cancel(token);
        continue;
      }
      published_.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  Bus& bus_;
  redis::DurabilityTracker& tracker_;
  Data data_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> published_{0};
  std::mutex mutex_;
  std::map<std::string, std::string> acked_;
  std::thread thread_;
};

// `written` is every entry Redis holds, as (message id, event id). Every
// acknowledged event is there exactly once, under the id it was
// acknowledged with; and since nothing is dropped, every published event
// is there once.
inline void expect_exactly_once(const std::vector<std::pair<std::string, std::string>>& written,
                                const std::map<std::string, std::string>& acked, std::uint64_t published) {
  std::map<std::string, std::vector<std::string>> seen;
  for (const auto& [message_id, event_id] : written) seen[event_id].push_back(message_id);
  for (const auto& [event_id, message_id] : acked) {
    const auto it = seen.find(event_id);
    ASSERT_NE(it, seen.end()) << "acknowledged event " << event_id << " is missing";
    ASSERT_EQ(it->second.size(), 1u) << "event " << event_id << " written " << it->second.size() << " times, as "
                                     << it->second.front() << " and " << it->second.back() << "; acknowledged as "
                                     << message_id;
    EXPECT_EQ(it->second[0], message_id);
  }
  EXPECT_EQ(written.size(), published);
  EXPECT_EQ(seen.size(), written.size());
}

}  // namespace tradpal::testing
