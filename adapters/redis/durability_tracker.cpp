#include "adapters/redis/durability_tracker.h"

#include <memory>
#include <vector>

#include "adapters/redis/log.h"

namespace tradpal::redis {

std::uint64_t DurabilityTracker::track(Callback callback) {
  const std::uint64_t token = next_token_.fetch_add(1, std::memory_order_relaxed);
  Shard& s = shard(token);
  std::lock_guard lock(s.mutex);
  s.waiting.emplace(token, std::move(callback));
  return token;
}

DurabilityTracker::Ticket DurabilityTracker::ticket() {
  // std::function needs a copyable target; the promise is shared.
  auto promise = std::make_shared<std::promise<std::string>>();
  Ticket t;
  t.message_id = promise->get_future();
  t.token = track([promise](std::string_view id) { promise->set_value(std::string(id)); });
  return t;
}

void DurabilityTracker::cancel(std::uint64_t token) noexcept {
  Shard& s = shard(token);
  std::lock_guard lock(s.mutex);
  s.waiting.erase(token);
}

void DurabilityTracker::call(Callback& cb, std::string_view id) noexcept {
  try {
    cb(id);
  } catch (const std::exception& e) {
    callback_exceptions_.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::error, std::string("durability callback threw: ") + e.what());
  } catch (...) {
    callback_exceptions_.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::error, "durability callback threw");
  }
}

void DurabilityTracker::acknowledge(std::uint64_t token, std::string_view message_id) noexcept {
  if (token == 0) return;
  Callback cb;
  {
    Shard& s = shard(token);
    std::lock_guard lock(s.mutex);
    const auto it = s.waiting.find(token);
    if (it == s.waiting.end()) return;
    cb = std::move(it->second);
    s.waiting.erase(it);
  }
  // Outside the lock: the callback may track another event.
  call(cb, message_id);
}

void DurabilityTracker::acknowledged(std::span<const Acknowledgement> burst) noexcept {
  char text[StreamId::kMaxText];
  for (const Acknowledgement& a : burst) {
    if (a.correlation != 0) acknowledge(a.correlation, std::string_view(text, a.id.format(text)));
  }
}

void DurabilityTracker::abandoned(std::span<const std::uint64_t> correlations) noexcept {
  for (const std::uint64_t token : correlations) acknowledge(token, {});
}

void DurabilityTracker::abandon_all() noexcept {
  for (Shard& s : shards_) {
    std::unordered_map<std::uint64_t, Callback> taken;
    {
      std::lock_guard lock(s.mutex);
      taken.swap(s.waiting);
    }
    for (auto& [token, cb] : taken) call(cb, {});
  }
}

std::size_t DurabilityTracker::pending() const noexcept {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.waiting.size();
  }
  return n;
}

}  // namespace tradpal::redis
