#include "adapters/redis/entry_decoder.h"

#include <hiredis/hiredis.h>

#include "adapters/redis/log.h"

namespace tradpal::redis {

void SkipCounter::record(DecodeError kind, std::string_view entry_id) noexcept {
  const auto i = static_cast<std::size_t>(kind);
  if (i >= kDecodeErrorCount) return;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  if (!logged_[i].exchange(true, std::memory_order_relaxed)) {
    try {
      log(LogLevel::warning, "skipping stream entry " + std::string(entry_id) + " that is not a TradPal event (" +
                                 std::string(to_string(kind)) + "); further entries of this kind are only counted");
    } catch (...) {
    }
  }
}

std::uint64_t SkipCounter::total() const noexcept {
  std::uint64_t n = 0;
  for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
  return n;
}

std::string_view entry_id(const redisReply* entry) noexcept {
  if (entry == nullptr || entry->type != REDIS_REPLY_ARRAY || entry->elements < 1) return {};
  const redisReply* id = entry->element[0];
  if (id == nullptr || id->type != REDIS_REPLY_STRING) return {};
  return {id->str, id->len};
}

std::optional<std::string_view> event_field(const redisReply* fields) noexcept {
  if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY) return std::nullopt;
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    const redisReply* k = fields->element[i];
    const redisReply* v = fields->element[i + 1];
    if (k->type == REDIS_REPLY_STRING && std::string_view(k->str, k->len) == "event" &&
        v->type == REDIS_REPLY_STRING) {
      return std::string_view(v->str, v->len);
    }
  }
  return std::nullopt;
}

bool decode_entry_view(const redisReply* entry, SkipCounter& skips, EventFields& out) {
  const std::string_view id = entry_id(entry);
  if (id.empty()) {
    skips.record(DecodeError::missing_field, "(malformed reply)");
    return false;
  }
  const auto json = event_field(entry->elements >= 2 ? entry->element[1] : nullptr);
  if (!json) {
    skips.record(DecodeError::missing_field, id);
    return false;
  }
  const DecodeError error = decode_event_view(*json, out);
  if (error != DecodeError::none) {
    skips.record(error, id);
    return false;
  }
  return true;
}

std::optional<StoredEvent> decode_entry(const redisReply* entry, SkipCounter& skips) {
  EventFields f;
  if (!decode_entry_view(entry, skips, f)) return std::nullopt;
  return StoredEvent{std::string(entry_id(entry)), to_event(f)};
}

}  // namespace tradpal::redis
