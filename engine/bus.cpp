#include "engine/bus.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

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

// A frame stores the source's length in 16 bits (the ring refuses longer
// ones with `invalid` too; checked here so a batch stops at that spec).
constexpr std::size_t kMaxSourceSize = std::numeric_limits<std::uint16_t>::max();

constexpr std::string_view kNotAnObject = "is not a JSON object";

// Fills `rejection` when the caller gave one; answers `invalid`.
PublishStatus reject(PublishRejection* rejection, PublishRejection::Part part, std::string_view message) noexcept {
  if (rejection != nullptr) rejection->reject(part, "", message);
  return PublishStatus::invalid;
}

// {"symbol": <symbol>, <inner>} at `p`, exactly market_data_size() bytes;
// `inner` is the caller's object without its braces, trimmed.
constexpr std::string_view kSymbolPrefix = "{\"symbol\": ";

std::size_t market_data_size(std::string_view symbol, std::string_view inner) noexcept {
  return kSymbolPrefix.size() + quoted_size(symbol) + (inner.empty() ? 0 : 2 + inner.size()) + 1;
}

void write_market_data(char* p, std::string_view symbol, std::string_view inner) noexcept {
  std::memcpy(p, kSymbolPrefix.data(), kSymbolPrefix.size());
  p = write_quoted(symbol, p + kSymbolPrefix.size());
  if (!inner.empty()) {
    *p++ = ',';
    *p++ = ' ';
    std::memcpy(p, inner.data(), inner.size());
    p += inner.size();
  }
  *p = '}';
}

// This thread's buffer of at least `size` bytes, or null when it cannot
// grow. Grows to the largest size asked for and never shrinks, so a thread's
// steady state allocates nothing.
char* thread_scratch(std::size_t size) noexcept {
  thread_local std::unique_ptr<char[]> buffer;
  thread_local std::size_t capacity = 0;
  if (size > capacity) {
    const std::size_t want = std::max<std::size_t>(size, 4096);
    std::unique_ptr<char[]> grown(new (std::nothrow) char[want]);
    if (!grown) return nullptr;
    buffer = std::move(grown);
    capacity = want;
  }
  return buffer.get();
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

PublishStatus Bus::screen(const Ring& ring, const EventSpec& spec, PublishRejection* rejection) const noexcept {
  using Part = PublishRejection::Part;
  if (!acceptable(spec.data)) return reject(rejection, Part::data, kNotAnObject);
  if (!acceptable(spec.metadata)) return reject(rejection, Part::metadata, kNotAnObject);
  if (spec.source.size() > kMaxSourceSize) return reject(rejection, Part::source, "is longer than 65535 bytes");
  if (validator_ == nullptr) return PublishStatus::ok;
  // What the ring would refuse is not worth validating, and a validator
  // may copy what it is shown: a huge text would grow its buffer for nothing.
  const std::size_t body = spec.source.size() + spec.data.size() + spec.metadata.size() +
                           (spec.stream_id ? detail::kStreamIdSize : 0);
  if (body > ring.max_event_size()) return PublishStatus::too_large;
  const PublishValidator::Event event{
      .type = spec.type, .source = spec.source, .data = spec.data, .metadata = spec.metadata};
  return validator_->validate(event, rejection) ? PublishStatus::ok : PublishStatus::invalid;
}

Bus::Bus(const BusOptions& options)
    : ring_(options.ring),
      full_check_(options.json_check == JsonCheck::full),
      validator_(options.validator),
      lane_options_(options.ring) {
  if (options.max_publications > kMaxPublications) {
    throw std::invalid_argument("max_publications " + std::to_string(options.max_publications) + " exceeds " +
                                std::to_string(kMaxPublications));
  }
  max_lanes_ = options.max_publications;
  lane_options_.single_producer = true;
  // A bad publication_capacity throws std::invalid_argument (from Ring) at
  // the first publication().
  if (options.publication_capacity != 0) lane_options_.capacity = options.publication_capacity;
}

Bus::~Bus() = default;

void Bus::close() noexcept {
  ring_.close();
  const std::uint32_t lanes = lane_count_.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < lanes; ++i) lanes_[i].ring->close();
}

Publication Bus::publication() {
  std::lock_guard lock(registry_mutex_);
  const std::uint32_t made = lane_count_.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < made; ++i) {
    if (!lanes_[i].taken) {
      lanes_[i].taken = true;
      return Publication(this, lanes_[i].ring.get(), i);
    }
  }
  if (made >= max_lanes_) {
    throw std::runtime_error("no publication free: all " + std::to_string(max_lanes_) +
                             " are taken (BusOptions::max_publications)");
  }
  auto ring = std::make_unique<Ring>(lane_options_);
  ring->share_wake_up_of(ring_);
  // Every live subscription reads the new ring from its start; on failure
  // nothing of it was published, so detaching undoes it.
  std::vector<std::uint32_t> attached;
  attached.reserve(live_.size());
  for (Subscription::Core* core : live_) {
    std::string error;
    const auto slot = ring->attach(core->mode, core->filter, std::nullopt, &error);
    if (!slot) {
      for (std::uint32_t s : attached) {
        ring->detach(s);
        ring->release(s);
      }
      throw std::runtime_error("cannot make a publication: " + error);
    }
    attached.push_back(*slot);
  }
  for (std::size_t k = 0; k < live_.size(); ++k) live_[k]->lanes[made] = {ring.get(), attached[k]};
  if (ring_.closed()) ring->close();
  lanes_[made].ring = std::move(ring);
  lanes_[made].taken = true;
  lane_count_.store(made + 1, std::memory_order_release);
  return Publication(this, lanes_[made].ring.get(), made);
}

void Bus::release_lane(std::uint32_t lane) noexcept {
  std::lock_guard lock(registry_mutex_);
  lanes_[lane].taken = false;
}

PublishStatus Bus::try_publish(const EventSpec& spec, Published* out, PublishRejection* rejection) noexcept {
  return try_publish_on(ring_, spec, out, rejection);
}

PublishStatus Bus::try_publish_on(Ring& ring, const EventSpec& spec, Published* out,
                                  PublishRejection* rejection) noexcept {
  if (const PublishStatus checked = screen(ring, spec, rejection); checked != PublishStatus::ok) return checked;
  Claim claim;
  const PublishStatus s = ring.try_claim(claim_request(spec), claim);
  if (s != PublishStatus::ok) return s;
  publish_claimed(spec, claim, out);
  return PublishStatus::ok;
}

Bus::BatchResult Bus::try_publish_batch(std::span<const EventSpec> specs, Published* out,
                                        PublishRejection* rejection) noexcept {
  return try_publish_batch_on(ring_, specs, out, rejection);
}

Bus::BatchResult Bus::try_publish_batch_on(Ring& ring, std::span<const EventSpec> specs, Published* out,
                                           PublishRejection* rejection) noexcept {
  BatchResult result;
  std::array<ClaimRequest, kMaxBatch> requests;
  std::array<Claim, kMaxBatch> claims;
  while (result.published < specs.size()) {
    // The next chunk: what fits one claim.
    std::size_t n = 0;
    std::uint64_t bytes = 0;
    for (std::size_t i = result.published; i < specs.size() && n < kMaxBatch; ++i, ++n) {
      const EventSpec& spec = specs[i];
      const std::uint64_t size = detail::frame_length(spec.source.size(), spec.data.size(), spec.metadata.size(),
                                                      spec.stream_id ? detail::kStreamIdSize : 0);
      // Sized first, so a spec that waits for the next chunk is checked once.
      if (n > 0 && bytes + size > ring.max_claim_bytes()) break;
      // A refused spec ends the chunk before it; the next round starts with
      // it and stops the batch there, so what precedes it is published. It
      // is checked again then, first in its chunk, and only that check fills
      // the record: a refusal is described once, for the spec that stopped
      // the batch.
      if (const PublishStatus checked = screen(ring, spec, n == 0 ? rejection : nullptr);
          checked != PublishStatus::ok) {
        if (n == 0) {
          result.status = checked;
          return result;
        }
        break;
      }
      bytes += size;
      requests[n] = claim_request(spec);
    }
    const PublishStatus s = ring.try_claim_batch(std::span(requests.data(), n), std::span(claims.data(), n));
    if (s != PublishStatus::ok) {
      result.status = s;
      return result;
    }
    for (std::size_t k = 0; k < n; ++k) {
      const EventSpec& spec = specs[result.published + k];
      Claim& claim = claims[k];
      std::memcpy(claim.data(), spec.data.data(), spec.data.size());
      std::memcpy(claim.metadata(), spec.metadata.data(), spec.metadata.size());
      if (out != nullptr) {
        out[result.published + k].sequence = claim.sequence();
        out[result.published + k].event_id = claim.event_id();
      }
      count_published(spec.type);
    }
    // One commit for the chunk: subscribers see it whole, woken once.
    ring.commit_batch(std::span(claims.data(), n));
    result.published += n;
  }
  return result;
}

PublishStatus Bus::try_publish_market_data(std::string_view symbol, std::string_view data_json,
                                           std::string_view source, Published* out, std::uint64_t correlation,
                                           PublishRejection* rejection) noexcept {
  using Part = PublishRejection::Part;
  // The symbol is quoted here, so the whole object is valid when data is.
  if (!acceptable(data_json)) return reject(rejection, Part::data, kNotAnObject);
  if (source.size() > kMaxSourceSize) return reject(rejection, Part::source, "is longer than 65535 bytes");
  // {"symbol": <symbol>, <members of data>} written straight into the frame.
  // A "symbol" key inside data comes later and wins, as in Python's
  // {"symbol": symbol, **data}.
  std::string_view inner = trim_json(data_json);
  inner = trim_json(inner.substr(1, inner.size() - 2));
  const std::size_t size = market_data_size(symbol, inner);
  // With a validator the data is built once in this thread's buffer, shown
  // to it, and copied into the frame only when accepted: nothing is claimed
  // for a refused event, as on every other publishing path.
  const char* built = nullptr;
  if (validator_ != nullptr) {
    if (source.size() + size + 2 > ring_.max_event_size()) return PublishStatus::too_large;
    char* scratch = thread_scratch(size);
    if (scratch == nullptr) return reject(rejection, Part::data, "cannot be checked: out of memory");
    write_market_data(scratch, symbol, inner);
    const PublishValidator::Event event{.type = EventType::market_data_update,
                                        .source = source,
                                        .data = std::string_view(scratch, size),
                                        .metadata = "{}"};
    if (!validator_->validate(event, rejection)) return PublishStatus::invalid;
    built = scratch;
  }
  Claim claim;
  const PublishStatus s = ring_.try_claim(
      {.type = EventType::market_data_update,
       .source = source,
       .data_size = size,
       .metadata_size = 2,
       .correlation = correlation},
      claim);
  if (s != PublishStatus::ok) return s;
  if (built != nullptr) {
    std::memcpy(claim.data(), built, size);
  } else {
    write_market_data(claim.data(), symbol, inner);
  }
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
  auto core = std::make_unique<Subscription::Core>();
  core->on_exception = options.on_exception;
  core->mode = options.mode;
  core->filter = options.types;
  core->lane_count = &lane_count_;
  std::lock_guard lock(registry_mutex_);
  live_.reserve(live_.size() + 1);  // so nothing below throws after the attaches
  std::string error;
  const auto slot = ring_.attach(options.mode, options.types, options.start, &error);
  if (!slot) throw std::runtime_error("cannot subscribe: " + error);
  // Each publication's ring from its tail now: what it published before this
  // subscription existed is not this subscription's, as on the bus's ring.
  const std::uint32_t lanes = lane_count_.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < lanes; ++i) {
    Ring& lane = *lanes_[i].ring;
    const auto lane_slot = lane.attach(options.mode, options.types, std::nullopt, &error);
    if (!lane_slot) {
      for (std::uint32_t k = 0; k < i; ++k) {
        core->lanes[k].ring->detach(core->lanes[k].slot);
        core->lanes[k].ring->release(core->lanes[k].slot);
      }
      ring_.detach(*slot);
      ring_.release(*slot);
      throw std::runtime_error("cannot subscribe to publication " + std::to_string(i) + ": " + error);
    }
    core->lanes[i] = {&lane, *lane_slot};
  }
  live_.push_back(core.get());
  return Subscription(this, &ring_, *slot, std::move(core));
}

void Bus::unsubscribe(Subscription& sub) noexcept {
  std::lock_guard lock(registry_mutex_);
  Subscription::Core* core = sub.core_.get();
  live_.erase(std::remove(live_.begin(), live_.end(), core), live_.end());
  const std::uint32_t lanes = lane_count_.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < lanes; ++i) {
    const Subscription::Core::Lane& lane = core->lanes[i];
    lane.ring->detach(lane.slot);
    retire(lane.ring->counters(lane.slot));
    lane.ring->release(lane.slot);
  }
  ring_.detach(sub.slot_);
  // Between detach and release the slot is neither counted live by
  // Bus::dropped() nor reusable, so its losses move to the bus totals once.
  retire(ring_.counters(sub.slot_));
  ring_.release(sub.slot_);
}

std::size_t Bus::assign_thread_shard() noexcept {
  static std::atomic<std::size_t> next{0};
  return std::min(next.fetch_add(1, std::memory_order_relaxed), kCounterShards - 1);
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
  auto live_losses = [&](const Ring& ring) {
    for (std::uint32_t i = 0; i < ring.max_subscribers(); ++i) {
      if (!ring.attached(i)) continue;  // a closed subscriber's losses are in retired_dropped_
      n += ring.counters(i).lost[to_index(t)].load(std::memory_order_relaxed);
    }
  };
  live_losses(ring_);
  const std::uint32_t lanes = lane_count_.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < lanes; ++i) live_losses(*lanes_[i].ring);
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

std::uint64_t Subscription::consumed(EventType t) const noexcept {
  std::uint64_t n = 0;
  any_source([&](const Ring& ring, std::uint32_t slot) {
    n += ring.counters(slot).consumed[to_index(t)].load(std::memory_order_relaxed);
    return false;
  });
  return n;
}

std::uint64_t Subscription::consumed_total() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t t = 0; t < kEventTypeCount; ++t) n += consumed(static_cast<EventType>(t));
  return n;
}

std::uint64_t Subscription::lost(EventType t) const noexcept {
  std::uint64_t n = 0;
  any_source([&](const Ring& ring, std::uint32_t slot) {
    n += ring.counters(slot).lost[to_index(t)].load(std::memory_order_relaxed);
    return false;
  });
  return n;
}

std::uint64_t Subscription::lost_total() const noexcept {
  std::uint64_t n = 0;
  any_source([&](const Ring& ring, std::uint32_t slot) {
    n += ring.counters(slot).lost_total.load(std::memory_order_acquire);
    return false;
  });
  return n;
}

bool Subscription::available() const noexcept {
  return any_source([](const Ring& ring, std::uint32_t slot) { return ring.available(slot); });
}

bool Subscription::drained() const noexcept {
  return !any_source([](const Ring& ring, std::uint32_t slot) {
    return !(ring.closed() && !ring.available(slot) && ring.position(slot) >= ring.tail());
  });
}

void Subscription::handler_threw(const EventView& event) noexcept {
  const std::uint64_t n = core_->failure_count.fetch_add(1, std::memory_order_relaxed) + 1;
  if (core_->on_exception) {
    core_->on_exception(event, std::current_exception());
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
  bus_->unsubscribe(*this);
  ring_ = nullptr;
}

}  // namespace tradpal
