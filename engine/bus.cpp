#include "engine/bus.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/json.h"

namespace tradpal {

namespace {

// The claim an EventSpec asks for: its sizes, and everything but the bytes.
ClaimRequest claim_request(const EventSpec& spec) noexcept {
  return {.type = spec.type,
          .source = spec.source,
          .data_size = spec.data.size(),
          .metadata_size = spec.metadata.size(),
          .origin = spec.origin,
          .correlation = spec.correlation,
          .timestamp_ns = spec.timestamp_ns,
          .event_id = spec.event_id,
          .stream_id = spec.stream_id};
}

}  // namespace

// Writes the spec's data and metadata into its claim, reports it, commits.
void Bus::publish_claimed(const EventSpec& spec, Claim& claim, Published* out) noexcept {
  std::memcpy(claim.data(), spec.data.data(), spec.data.size());
  std::memcpy(claim.metadata(), spec.metadata.data(), spec.metadata.size());
  if (out != nullptr) {
    out->sequence = claim.sequence();
    out->event_id = claim.event_id();
  }
  count_published(spec.type);
  claim.commit();
}

bool Bus::acceptable(std::string_view object_json) const noexcept {
  return full_check_ ? is_json_object_fast(object_json) : looks_like_object(object_json);
}

PublishStatus Bus::try_publish(const EventSpec& spec, Published* out) noexcept {
  if (!acceptable(spec.data) || !acceptable(spec.metadata)) return PublishStatus::invalid;
  Claim claim;
  const PublishStatus s = ring_.try_claim(claim_request(spec), claim);
  if (s != PublishStatus::ok) return s;
  publish_claimed(spec, claim, out);
  return PublishStatus::ok;
}

Bus::BatchResult Bus::try_publish_batch(std::span<const EventSpec> specs, Published* out) noexcept {
  BatchResult result;
  std::array<ClaimRequest, kMaxBatch> requests;
  std::array<Claim, kMaxBatch> claims;
  while (result.published < specs.size()) {
    // The next chunk: what fits one claim.
    std::size_t n = 0;
    std::uint64_t bytes = 0;
    for (std::size_t i = result.published; i < specs.size() && n < kMaxBatch; ++i, ++n) {
      const EventSpec& spec = specs[i];
      if (!acceptable(spec.data) || !acceptable(spec.metadata)) {
        if (n == 0) {
          result.status = PublishStatus::invalid;
          return result;
        }
        break;
      }
      const std::uint64_t size = detail::frame_length(spec.source.size(), spec.data.size(), spec.metadata.size(),
                                                      spec.stream_id ? detail::kStreamIdSize : 0);
      if (n > 0 && bytes + size > ring_.max_claim_bytes()) break;
      bytes += size;
      requests[n] = claim_request(spec);
    }
    const PublishStatus s = ring_.try_claim_batch(std::span(requests.data(), n), std::span(claims.data(), n));
    if (s != PublishStatus::ok) {
      result.status = s;
      return result;
    }
    for (std::size_t k = 0; k < n; ++k) {
      publish_claimed(specs[result.published + k], claims[k], out != nullptr ? out + result.published + k : nullptr);
    }
    result.published += n;
  }
  return result;
}

PublishStatus Bus::try_claim(const ClaimRequest& request, Claim& out) noexcept {
  const PublishStatus s = ring_.try_claim(request, out);
  if (s == PublishStatus::ok) count_published(request.type);
  return s;
}

PublishStatus Bus::try_publish_market_data(std::string_view symbol, std::string_view data_json,
                                           std::string_view source, Published* out,
                                           std::uint64_t correlation) noexcept {
  // The symbol is quoted here, so the whole object is valid when data is.
  if (!acceptable(data_json)) return PublishStatus::invalid;
  // {"symbol": <symbol>, <members of data>} written straight into the frame.
  // A "symbol" key inside data comes later and wins, as in Python's
  // {"symbol": symbol, **data}.
  std::string_view inner = trim_json(data_json);
  inner = trim_json(inner.substr(1, inner.size() - 2));
  constexpr std::string_view kPrefix = "{\"symbol\": ";
  const std::size_t size = kPrefix.size() + quoted_size(symbol) + (inner.empty() ? 0 : 2 + inner.size()) + 1;
  Claim claim;
  const PublishStatus s = ring_.try_claim(
      {.type = EventType::market_data_update,
       .source = source,
       .data_size = size,
       .metadata_size = 2,
       .correlation = correlation},
      claim);
  if (s != PublishStatus::ok) return s;
  char* p = claim.data();
  std::memcpy(p, kPrefix.data(), kPrefix.size());
  p = write_quoted(symbol, p + kPrefix.size());
  if (!inner.empty()) {
    *p++ = ',';
    *p++ = ' ';
    std::memcpy(p, inner.data(), inner.size());
    p += inner.size();
  }
  *p = '}';
  std::memcpy(claim.metadata(), "{}", 2);
  if (out != nullptr) {
    out->sequence = claim.sequence();
    out->event_id = claim.event_id();
  }
  count_published(EventType::market_data_update);
  claim.commit();
  return PublishStatus::ok;
}

Subscription Bus::subscribe(const SubscribeOptions& options) {
  std::string error;
  const auto slot = ring_.attach(options.mode, options.types, options.start, &error);
  if (!slot) throw std::runtime_error("cannot subscribe: " + error);
  try {
    return Subscription(this, &ring_, *slot, options.on_exception);
  } catch (...) {
    ring_.detach(*slot);
    ring_.release(*slot);
    throw;
  }
}

std::size_t Bus::thread_shard() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t shard = std::min(next.fetch_add(1, std::memory_order_relaxed), kCounterShards - 1);
  return shard;
}

std::uint64_t Bus::published(EventType t) const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kCounterShards; ++i) n += published_[i].count[to_index(t)].load(std::memory_order_relaxed);
  return n;
}

std::uint64_t Bus::published_total() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t t = 0; t < kEventTypeCount; ++t) n += published(static_cast<EventType>(t));
  return n;
}

std::uint64_t Bus::dropped(EventType t) const noexcept {
  std::uint64_t n = retired_dropped_[to_index(t)].value.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < ring_.max_subscribers(); ++i) {
    if (!ring_.attached(i)) continue;  // a closed subscriber's losses are in retired_dropped_
    n += ring_.counters(i).lost[to_index(t)].load(std::memory_order_relaxed);
  }
  return n;
}

std::uint64_t Bus::dropped_total() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t t = 0; t < kEventTypeCount; ++t) n += dropped(static_cast<EventType>(t));
  return n;
}

void Bus::retire(const SubscriberCounters& c) noexcept {
  for (std::size_t t = 0; t < kEventTypeCount; ++t) {
    retired_dropped_[t].value.fetch_add(c.lost[t].load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
}

std::uint64_t Subscription::consumed_total() const noexcept {
  std::uint64_t n = 0;
  for (const auto& c : ring_->counters(slot_).consumed) n += c.load(std::memory_order_relaxed);
  return n;
}

void Subscription::handler_threw(const EventView& event) noexcept {
  const std::uint64_t n = failures_->count.fetch_add(1, std::memory_order_relaxed) + 1;
  if (failures_->on_exception) {
    failures_->on_exception(event, std::current_exception());
    return;
  }
  if (n != 1) return;
  const std::string_view type = to_string(event.type());
  const auto report = [&](const char* what) {
    std::fprintf(stderr,
                 "tradpal: a subscription handler threw (%s) on a %.*s event; it counts as consumed, "
                 "and further failures are only counted (Subscription::handler_failures())\n",
                 what, static_cast<int>(type.size()), type.data());
  };
  try {
    throw;
  } catch (const std::exception& e) {
    report(e.what());
  } catch (...) {
    report("an exception not derived from std::exception");
  }
}

void Subscription::close() noexcept {
  if (ring_ == nullptr) return;
  ring_->detach(slot_);
  // Between detach and release the slot is neither counted live by
  // Bus::dropped() nor reusable, so its losses move to the bus totals once.
  if (bus_ != nullptr) bus_->retire(ring_->counters(slot_));
  ring_->release(slot_);
  ring_ = nullptr;
}

}  // namespace tradpal
