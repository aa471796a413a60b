// engine/bus.h
//
// Bus: the engine's front door. A Ring plus the publishing API (raw, claim /
// commit, and the TradPal convenience publishers with the defaults of the
// wire contract), subscriptions, and per-type counters. Any thread may
// publish (one thread only on a single_producer ring); try_* calls never
// block, allocate (once the thread's JSON check buffer is warm) or throw.
// publish() and the convenience publishers wait with a wait strategy while
// back-pressured, publish_until()/publish_for() until a deadline: from
// inside a handler prefer try_* (a handler that waits on a full ring waits
// on itself). Data and metadata are checked as JSON objects before anything
// is written (BusOptions::json_check): bad text answers `invalid`. A bus
// given a PublishValidator (BusOptions::validator, engine/publish_validator.h)
// also asks it about every event before claiming, e.g. a JSON Schema per
// event type: a refusal answers `invalid` too. Every publishing call takes an
// optional PublishRejection* that then says why (the part, the JSON Pointer
// of the failing value, a message). Claims (try_claim) bypass both checks.
// A thread that publishes a lot can take an exclusive Publication
// (publication(), engine/publication.h): a ring of its own that every
// subscription reads beside the bus's, so it shares no claim CAS.
//
// Lifetimes: a Subscription, a SubscriberThread and a Claim hold a pointer
// to the bus's ring: destroy them before the Bus. Adapters that take a Bus&
// (Persister, eventd's services) must be destroyed before it too.
//
//   tradpal::Bus bus;
//   auto sub = bus.subscribe({.types = {tradpal::EventType::trading_signal}});
//   bus.publish_trading_signal(R"({"symbol": "BTC/USDT", "action": "BUY"})");
//   sub.poll([](const tradpal::EventView& e, bool) { use(e.data()); });
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/event_type.h"
#include "engine/publish_status.h"
#include "engine/publish_validator.h"
#include "engine/ring.h"
#include "engine/subscription.h"
#include "engine/wait_strategy.h"

namespace tradpal {

// How much of data and metadata a publish checks before anything is
// written.
enum class JsonCheck : std::uint8_t {
  // Every byte: exactly one valid JSON object each (simdjson, about the
  // cost of parsing it once). Bad text answers `invalid` and never reaches
  // a subscriber or Redis. The default.
  full,
  // `{` ... `}` only: for publishers whose JSON comes from a serialiser they
  // trust and who want those nanoseconds back. Whoever stores or forwards
  // events (the persister, eventd) validates fully anyway, so a bad text is
  // refused there (PersisterListener::refused), never written.
  shape,
};

struct BusOptions {
  RingOptions ring;
  JsonCheck json_check = JsonCheck::full;
  // Exclusive publications (engine/publication.h): at most this many at
  // once (up to kMaxPublications), each a ring of its own of
  // publication_capacity bytes (0: ring.capacity), made at the first
  // publication() that finds none free and kept until the bus is destroyed.
  std::size_t max_publications = 8;
  std::size_t publication_capacity = 0;
  // Opt-in: asked about every event published through try_publish,
  // publish*, the convenience publishers, the batches and every
  // Publication, after the JSON check and before claiming; a refusal answers
  // `invalid` and writes nothing. Not asked by claims (see try_claim). Not
  // owned: it must outlive the bus. Null (the default) costs one branch.
  const PublishValidator* validator = nullptr;
};

// One event to publish. data and metadata are JSON objects as text.
struct EventSpec {
  EventType type = EventType::system_health;
  std::string_view source = "api";
  std::string_view data = "{}";
  std::string_view metadata = "{}";
  EventOrigin origin = EventOrigin::local;
  std::uint64_t correlation = 0;   // handed back by the persister with the message id
  TimestampNs timestamp_ns = 0;    // 0: now
  Uuid event_id{};                 // nil: a fresh v4 id
  std::optional<StreamId> stream_id;  // set for events read from the Redis stream
};

// Filled by a successful publish.
struct Published {
  Sequence sequence = 0;
  Uuid event_id{};
};

// The wait strategy that does not wait: publish<NoWait> behaves as try_publish.
struct NoWait {};

class Publication;

class Bus {
 public:
  // Throws std::invalid_argument for bad ring options (see Ring) or more
  // than kMaxPublications publications.
  explicit Bus(const BusOptions& options = {});
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // ---- publishing ---------------------------------------------------------

  // Every publishing call takes a last `rejection` argument: when it answers
  // `invalid` and `rejection` is not null, the record says why (JSON check:
  // part data or metadata, path "", "is not a JSON object"; a source over
  // 65535 bytes: part source; the validator: what it filled in). Left as it
  // was on any other status. For a batch it describes the first spec not
  // published. Passing null also spares the validator describing a refusal.

  PublishStatus try_publish(const EventSpec& spec, Published* out = nullptr,
                            PublishRejection* rejection = nullptr) noexcept;

  template <typename Wait = Backoff>
  PublishStatus publish(const EventSpec& spec, Published* out = nullptr,
                        PublishRejection* rejection = nullptr) noexcept {
    return retry<Wait>([&] { return try_publish(spec, out, rejection); });
  }

  // As publish(), but gives up at `deadline`: timed_out when the ring was
  // still back-pressured then (nothing was written). It may return up to one
  // idle of Wait after the deadline (Backoff: 1 ms at most).
  template <typename Wait = Backoff>
  PublishStatus publish_until(const EventSpec& spec, std::chrono::steady_clock::time_point deadline,
                              Published* out = nullptr, PublishRejection* rejection = nullptr) noexcept {
    Wait wait;
    for (;;) {
      const PublishStatus s = try_publish(spec, out, rejection);
      if (s != PublishStatus::back_pressured) return s;
      if (std::chrono::steady_clock::now() >= deadline) return PublishStatus::timed_out;
      wait.idle(ring_);
    }
  }
  template <typename Wait = Backoff, typename Rep, typename Period>
  PublishStatus publish_for(const EventSpec& spec, std::chrono::duration<Rep, Period> timeout,
                            Published* out = nullptr, PublishRejection* rejection = nullptr) noexcept {
    return publish_until<Wait>(spec, std::chrono::steady_clock::now() + timeout, out, rejection);
  }

  // Publishes `specs` in order with one claim of the ring per chunk (one
  // move of its tail, one time stamp shared by every spec that leaves
  // timestamp_ns at zero), so its per-event cost is the copy and the header.
  // A chunk is as many specs as fit one max_event_size frame and kMaxBatch;
  // each chunk goes in whole or not at all. `out`, when given, has room for
  // specs.size() entries. Returns how many were published and the status
  // that stopped it (ok when all were; back_pressured, too_large, invalid or
  // closed for the first spec not published). A spec the checks refuse (the
  // JSON check, the source's length, the validator) ends the chunk before
  // it, so the specs before it are published and the batch stops at it with
  // `invalid`, `rejection` describing it.
  struct BatchResult {
    PublishStatus status = PublishStatus::ok;
    std::size_t published = 0;
  };
  static constexpr std::size_t kMaxBatch = 64;
  BatchResult try_publish_batch(std::span<const EventSpec> specs, Published* out = nullptr,
                                PublishRejection* rejection = nullptr) noexcept;

  // The same, waiting with Wait while back-pressured.
  template <typename Wait = Backoff>
  BatchResult publish_batch(std::span<const EventSpec> specs, Published* out = nullptr,
                            PublishRejection* rejection = nullptr) noexcept {
    BatchResult total;
    while (total.published < specs.size()) {
      BatchResult r;
      const PublishStatus s = retry<Wait>([&] {
        r = try_publish_batch(specs.subspan(total.published), out != nullptr ? out + total.published : nullptr,
                              rejection);
        return r.published > 0 ? PublishStatus::ok : r.status;
      });
      total.published += r.published;
      total.status = s != PublishStatus::ok ? s : r.status;
      if (s != PublishStatus::ok || (r.status != PublishStatus::ok && r.status != PublishStatus::back_pressured)) {
        break;
      }
    }
    if (total.published == specs.size()) total.status = PublishStatus::ok;
    return total;
  }

  // Zero-copy form: claim, write data and metadata in place, commit.
  // Counts the event as published when claimed successfully.
  // Neither the JSON check nor the validator sees a claim: its bytes do not
  // exist when it is claimed, and Claim::commit() is the ring's, a store
  // that cannot answer `invalid` (teaching it to would put a branch and a
  // call into every commit, the bus's own publishes included). A claimer
  // that wants them runs check() on what it wrote and abort()s on refusal:
  // the frame becomes padding that subscribers skip (it still counts as
  // published, as every aborted claim does).
  PublishStatus try_claim(const ClaimRequest& request, Claim& out) noexcept {
    return try_claim_on(ring_, request, out);
  }
  // Zero-copy batch: one claim per request with one move of the ring's tail
  // and one time stamp for every request that leaves timestamp_ns at zero
  // (Ring::try_claim_batch: all or nothing, at most one max_event_size
  // frame in all). Counts every claimed event as published. Write each
  // claim in place, then commit_batch() them: subscribers see the run whole,
  // woken once. As for try_claim, no check sees the bytes.
  //
  //   std::array<Claim, 32> claims;
  //   if (bus.try_claim_batch(requests, claims) == PublishStatus::ok) {
  //     for (Claim& c : std::span(claims).first(requests.size())) write(c.data(), c.metadata());
  //     bus.commit_batch(std::span(claims).first(requests.size()));
  //   }
  PublishStatus try_claim_batch(std::span<const ClaimRequest> requests, std::span<Claim> out) noexcept {
    return try_claim_batch_on(ring_, requests, out);
  }
  // Commits claims of one try_claim_batch (or any of this bus's claims) as
  // one: see Ring::commit_batch.
  void commit_batch(std::span<Claim> claims) noexcept { ring_.commit_batch(claims); }

  // The checks a publish of `spec` runs before claiming: the JSON check, the
  // source's length and, when set, the validator. ok, invalid (`rejection`
  // filled as for a publish) or too_large (only when a validator is set: an
  // event the ring would refuse is not shown to it). Writes nothing; any
  // thread; noexcept and allocation-free as the publishes are.
  //
  //   Claim c;
  //   if (bus.try_claim(request, c) == PublishStatus::ok) {
  //     write(c.data(), c.metadata());
  //     const EventSpec written{.type = request.type, .source = request.source,
  //                             .data = {c.data(), c.data_size()}, .metadata = {c.metadata(), c.metadata_size()}};
  //     bus.check(written) == PublishStatus::ok ? c.commit() : c.abort();
  //   }
  PublishStatus check(const EventSpec& spec, PublishRejection* rejection = nullptr) const noexcept {
    return screen(ring_, spec, rejection);
  }

  // The TradPal convenience publishers (CONTRACT.md §1), waiting while
  // back-pressured. publish_market_data's data is {"symbol": symbol, **data}.
  // `correlation` is handed back by the persister with the message id (see
  // EventSpec::correlation); 0 means nobody waits for it. `rejection`: as
  // for try_publish.
  template <typename Wait = Backoff>
  PublishStatus publish_market_data(std::string_view symbol, std::string_view data_json,
                                    std::string_view source = "data_service", Published* out = nullptr,
                                    std::uint64_t correlation = 0, PublishRejection* rejection = nullptr) noexcept {
    return retry<Wait>(
        [&] { return try_publish_market_data(symbol, data_json, source, out, correlation, rejection); });
  }
  template <typename Wait = Backoff>
  PublishStatus publish_trading_signal(std::string_view signal_json, std::string_view source = "trading_bot",
                                       Published* out = nullptr, std::uint64_t correlation = 0,
                                       PublishRejection* rejection = nullptr) noexcept {
    return publish_typed<Wait>(EventType::trading_signal, signal_json, source, out, correlation, rejection);
  }
  template <typename Wait = Backoff>
  PublishStatus publish_portfolio_update(std::string_view updates_json, std::string_view source = "risk_service",
                                         Published* out = nullptr, std::uint64_t correlation = 0,
                                         PublishRejection* rejection = nullptr) noexcept {
    return publish_typed<Wait>(EventType::portfolio_update, updates_json, source, out, correlation, rejection);
  }
  // The Python module's other publishers: data = the argument. Default
  // sources name the service that usually sends each type.
  template <typename Wait = Backoff>
  PublishStatus publish_order_executed(std::string_view order_json, std::string_view source = "execution_service",
                                       Published* out = nullptr, std::uint64_t correlation = 0,
                                       PublishRejection* rejection = nullptr) noexcept {
    return publish_typed<Wait>(EventType::order_executed, order_json, source, out, correlation, rejection);
  }
  template <typename Wait = Backoff>
  PublishStatus publish_risk_alert(std::string_view alert_json, std::string_view source = "risk_service",
                                   Published* out = nullptr, std::uint64_t correlation = 0,
                                   PublishRejection* rejection = nullptr) noexcept {
    return publish_typed<Wait>(EventType::risk_alert, alert_json, source, out, correlation, rejection);
  }
  template <typename Wait = Backoff>
  PublishStatus publish_system_health(std::string_view health_json, std::string_view source = "monitoring_service",
                                      Published* out = nullptr, std::uint64_t correlation = 0,
                                      PublishRejection* rejection = nullptr) noexcept {
    return publish_typed<Wait>(EventType::system_health, health_json, source, out, correlation, rejection);
  }
  template <typename Wait = Backoff>
  PublishStatus publish_ml_model_update(std::string_view model_json, std::string_view source = "ml_service",
                                        Published* out = nullptr, std::uint64_t correlation = 0,
                                        PublishRejection* rejection = nullptr) noexcept {
    return publish_typed<Wait>(EventType::ml_model_update, model_json, source, out, correlation, rejection);
  }
  template <typename Wait = Backoff>
  PublishStatus publish_backtest_complete(std::string_view results_json, std::string_view source = "backtest_service",
                                          Published* out = nullptr, std::uint64_t correlation = 0,
                                          PublishRejection* rejection = nullptr) noexcept {
    return publish_typed<Wait>(EventType::backtest_complete, results_json, source, out, correlation, rejection);
  }
  template <typename Wait = Backoff>
  PublishStatus publish_event(EventType type, std::string_view source, std::string_view data_json = "{}",
                              std::string_view metadata_json = "{}", Published* out = nullptr,
                              std::uint64_t correlation = 0, PublishRejection* rejection = nullptr) noexcept {
    return publish<Wait>({.type = type,
                          .source = source,
                          .data = data_json,
                          .metadata = metadata_json,
                          .correlation = correlation},
                         out, rejection);
  }

  // The one place {"symbol": symbol, **data} is built: written straight into
  // the frame, whatever white space the caller's JSON has around it. With a
  // validator it is built in a per-thread buffer first (the validator sees
  // the data subscribers would get) and copied into the frame once accepted.
  PublishStatus try_publish_market_data(std::string_view symbol, std::string_view data_json,
                                        std::string_view source = "data_service", Published* out = nullptr,
                                        std::uint64_t correlation = 0,
                                        PublishRejection* rejection = nullptr) noexcept;

  // ---- exclusive publications -------------------------------------------

  // A ring of the bus that only the returned Publication claims from, so its
  // claims are plain stores, never a locked instruction shared with other
  // publishers (as Aeron's ExclusivePublication). Every subscription, earlier
  // or later, reads it too; see subscription.h for the order it then gets.
  // Throws std::runtime_error when max_publications are all taken. Not for
  // the hot path (the first use of a ring takes a lock and allocates it).
  [[nodiscard]] Publication publication();

  // ---- subscribing -------------------------------------------------------

  // Throws std::runtime_error when no slot is free or `start` is not in the ring.
  [[nodiscard]] Subscription subscribe(const SubscribeOptions& options = {});

  // ---- lifecycle and counters -----------------------------------------------

  // Closes the bus's ring and every publication's. Stop the publications
  // first: one claiming while close() runs may still land its event (their
  // rings are single-producer; see RingOptions::single_producer).
  void close() noexcept;
  [[nodiscard]] bool closed() const noexcept { return ring_.closed(); }
  [[nodiscard]] Ring& ring() noexcept { return ring_; }
  [[nodiscard]] const Ring& ring() const noexcept { return ring_; }

  // Publications' rings made so far (each stays until the bus is destroyed).
  [[nodiscard]] std::size_t publication_rings() const noexcept {
    return lane_count_.load(std::memory_order_acquire);
  }

  [[nodiscard]] std::uint64_t published(EventType t) const noexcept;
  [[nodiscard]] std::uint64_t published_total() const noexcept;
  // Events lossy subscribers skipped, including those already closed.
  [[nodiscard]] std::uint64_t dropped(EventType t) const noexcept;
  [[nodiscard]] std::uint64_t dropped_total() const noexcept;

 private:
  friend class Subscription;
  friend class Publication;

  // The publishing paths, on the bus's ring or a publication's.
  PublishStatus try_publish_on(Ring& ring, const EventSpec& spec, Published* out,
                               PublishRejection* rejection) noexcept;
  BatchResult try_publish_batch_on(Ring& ring, std::span<const EventSpec> specs, Published* out,
                                   PublishRejection* rejection) noexcept;
  PublishStatus try_claim_on(Ring& ring, const ClaimRequest& request, Claim& out) noexcept {
    const PublishStatus s = ring.try_claim(request, out);
    if (s == PublishStatus::ok) count_published(request.type);
    return s;
  }
  PublishStatus try_claim_batch_on(Ring& ring, std::span<const ClaimRequest> requests, std::span<Claim> out) noexcept {
    const PublishStatus s = ring.try_claim_batch(requests, out);
    if (s == PublishStatus::ok) {
      for (const ClaimRequest& r : requests) count_published(r.type);
    }
    return s;
  }
  // Called by ~Publication: the lane is free for the next publication().
  void release_lane(std::uint32_t lane) noexcept;
  // Called by Subscription::close().
  void unsubscribe(Subscription& sub) noexcept;

  template <typename Wait>
  PublishStatus publish_typed(EventType type, std::string_view data_json, std::string_view source, Published* out,
                              std::uint64_t correlation, PublishRejection* rejection) noexcept {
    return publish<Wait>({.type = type, .source = source, .data = data_json, .correlation = correlation}, out,
                         rejection);
  }
  // The check BusOptions::json_check asks for.
  [[nodiscard]] bool acceptable(std::string_view object_json) const noexcept;
  // Everything a publish of `spec` on `ring` checks before claiming (see
  // check()): ok, invalid or too_large.
  PublishStatus screen(const Ring& ring, const EventSpec& spec, PublishRejection* rejection) const noexcept;

  // Calls attempt() until it answers anything but back_pressured, idling
  // with Wait in between (NoWait: once).
  template <typename Wait, typename Attempt>
  PublishStatus retry(Attempt&& attempt) noexcept {
    if constexpr (std::is_same_v<Wait, NoWait>) {
      return attempt();
    } else {
      Wait wait;
      for (;;) {
        const PublishStatus s = attempt();
        if (s != PublishStatus::back_pressured) return s;
        wait.idle(ring_);
      }
    }
  }
  // Published counts are sharded by publishing thread: each thread owns one
  // shard and bumps it with a plain load + store. A locked read-modify-write
  // here would wait on every publish for the previous commit's cache line to
  // come back from the subscriber that is watching it.
  static constexpr std::size_t kCounterShards = 64;
  struct alignas(64) Shard {
    std::atomic<std::uint64_t> count[kEventTypeCount];
  };
  // This thread's shard, the same index on every bus; threads beyond
  // kCounterShards share the last shard through fetch_add.
  static std::size_t thread_shard() noexcept {
    if (thread_shard_ == kNoShard) [[unlikely]] thread_shard_ = assign_thread_shard();
    return thread_shard_;
  }
  static constexpr std::size_t kNoShard = ~std::size_t{0};
  // Constant-initialised, so reading it needs no TLS guard.
  static inline thread_local constinit std::size_t thread_shard_ = kNoShard;
  static std::size_t assign_thread_shard() noexcept;
  void count_published(EventType t) noexcept {
    const std::size_t shard = thread_shard();
    std::atomic<std::uint64_t>& c = published_[shard].count[to_index(t)];
    if (shard + 1 < kCounterShards) {
      c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    } else {
      c.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void retire(const SubscriberCounters& c) noexcept;
  void publish_claimed(const EventSpec& spec, Claim& claim, Published* out) noexcept;

  struct alignas(64) Counter {
    std::atomic<std::uint64_t> value{0};
  };

  Ring ring_;
  bool full_check_;
  const PublishValidator* validator_;  // BusOptions::validator; set once, read by every publisher
  std::unique_ptr<Shard[]> published_ = std::make_unique<Shard[]>(kCounterShards);
  std::array<Counter, kEventTypeCount> retired_dropped_{};

  // Publications' rings ("lanes"). lanes_[i].ring is set, and every live
  // subscription attached to it, before lane_count_ passes i (release);
  // pollers read lane_count_ with acquire. Everything else: registry_mutex_.
  struct Lane {
    std::unique_ptr<Ring> ring;
    bool taken = false;
  };
  RingOptions lane_options_;
  std::size_t max_lanes_ = 0;
  std::mutex registry_mutex_;
  std::vector<Subscription::Core*> live_;  // subscriptions, to attach to new lanes
  std::array<Lane, kMaxPublications> lanes_;
  alignas(64) std::atomic<std::uint32_t> lane_count_{0};
};

}  // namespace tradpal

#include "engine/publication.h"
