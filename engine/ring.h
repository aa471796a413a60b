// engine/ring.h
//
// Ring: the bus's memory. A power-of-two byte log, preallocated once, into
// which any number of producer threads write variable-size event frames
// (engine/detail/frame.h) and from which every subscriber reads every frame in
// place. Producers never lock and never allocate; try_claim never blocks.
//
//   sequence (absolute bytes) ──►
//   ... | frame s | frame s+len | pad | frame | ... | frame (claimed, not committed) |
//        ▲ slowest gating subscriber    ▲ lossy subscriber        tail_ ▲
//   index = sequence & (capacity - 1); a frame never straddles the end of the
//   memory: a producer whose frame does not fit pads to the end and starts at 0.
//
// Claiming: a producer reads tail_, computes the wrap point (the oldest
// sequence its frame will overwrite, one lap back) and moves tail_ with a CAS
// (a plain release store on a single_producer ring). Before it may claim:
//   * every frame below the wrap point must be committed: a producer still
//     inside its claim one lap back holds the others back (reclaim_). A
//     gating subscriber that began at or below reclaim_ has found every
//     frame below its position committed, so while one is attached its
//     position is the proof; only without one are old headers walked;
//   * gating ("block") subscribers below the wrap point: back_pressured;
//   * lossy subscribers inside their handler pin the frame in hand:
//     back_pressured, exactly like gating;
//   * idle lossy subscribers below it are evicted first: the producer moves
//     their position to the first frame at or past the wrap point and counts
//     the events of their types they lost.
// So try_claim never waits: it claims, or it answers back_pressured having
// taken nothing. (A subscriber attaching during a claim can make the
// producer wait for the few instructions attach() takes.)
// The fast path skips all of this: floor_ caches the minimum of reclaim_ and
// every subscriber's position, tagged with the registry version it was
// computed under; attach() bumps the version and resets the floor.
//
// Subscribers publish their position before each handler call, so a handler
// may publish into the ring it reads (up to about one ring of events per
// call: the frame in its hand stays pinned).
//
// A frame ends at the next 64-byte boundary after its text; simdjson's reads
// past the text land in the frames after it (or the guard past the ring's
// end), whose content it ignores, possibly while a producer writes them: a
// benign race the ring accepts so a 64-byte event takes two cache lines, not
// three (detail/frame.h).
//
// Memory orders: a producer writes the frame and then stores commit = sequence
// with release; a reader's acquire load of commit pairs with it. A subscriber
// publishes its position with release after its handler ran; producers load
// it with acquire (seq_cst in the scan) before overwriting that memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/clock.h"
#include "engine/detail/frame.h"
#include "engine/event_type.h"
#include "engine/event_view.h"
#include "engine/publish_status.h"
#include "engine/stream_id.h"
#include "engine/timestamp.h"
#include "engine/uuid.h"

namespace tradpal {

struct RingOptions {
  std::size_t capacity = std::size_t{16} << 20;    // bytes, a power of two
  std::size_t max_event_size = std::size_t{64} << 10;  // source + data + metadata (+ 16 with a stream id)
  std::size_t max_subscribers = 64;
  // Promise that only one thread ever claims (as the Disruptor's
  // ProducerType.SINGLE), and commits or aborts its claims on that thread
  // (another may take over through something that synchronises): the tail
  // then advances with a plain release store instead of a CAS, which saves a
  // locked instruction per event, and the ring knows when no claim is open,
  // so it never walks old frame headers to find uncommitted ones.
  bool single_producer = false;
};

// How a subscriber reacts when publishers are faster than it.
enum class BackPressure : std::uint8_t {
  block,  // gating: publishers never overrun it; nothing is lost (default)
  lossy,  // not gating: overrun frames are skipped and counted
};

class Ring;

// Claim: space in the ring owned by one producer between try_claim and
// commit. Write the payload in place, then commit:
//
//   Claim c;
//   if (ring.try_claim({.type = EventType::trading_signal, .source = "bot",
//                       .data_size = n, .metadata_size = 2}, c) == PublishStatus::ok) {
//     std::memcpy(c.data(), json, n);
//     std::memcpy(c.metadata(), "{}", 2);
//     c.commit();
//   }
//
// A Claim destroyed without commit() turns its space into padding that every
// subscriber skips, so an exception between claim and commit loses nothing
// but that space. Not copyable; movable.
class Claim {
 public:
  Claim() noexcept = default;
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;
  Claim(Claim&& other) noexcept { *this = std::move(other); }
  Claim& operator=(Claim&& other) noexcept;
  ~Claim() { abort(); }

  [[nodiscard]] bool active() const noexcept { return frame_ != nullptr; }
  [[nodiscard]] Sequence sequence() const noexcept { return sequence_; }
  [[nodiscard]] char* data() noexcept { return frame_->body() + source_size_; }
  [[nodiscard]] char* metadata() noexcept { return data() + data_size_; }
  [[nodiscard]] std::size_t data_size() const noexcept { return data_size_; }
  [[nodiscard]] std::size_t metadata_size() const noexcept { return metadata_size_; }
  [[nodiscard]] Uuid event_id() const noexcept {
    Uuid id;
    std::memcpy(id.bytes.data(), &id_first_, 8);
    std::memcpy(id.bytes.data() + 8, &id_second_, 8);
    return id;
  }

  // Publishes the frame: every subscriber may read it from now on.
  void commit() noexcept;
  // (Ring::commit_batch commits several at once.)
  // Gives the space up as padding.
  void abort() noexcept;

 private:
  friend class Ring;
  // Everything of the header but the commit word.
  void write_header() noexcept;
  // The header is kept here and written to the frame in one go by commit():
  // a subscriber spinning on the commit word holds that cache line, and
  // writing it twice (at claim and at commit) would move it across cores
  // twice per event.
  //
  // The id's two halves are apart on purpose: prepare_claim() stores them
  // as two words, and adjacent ones commit() would read back as one 16-byte
  // load (the compiler merges the copies), which waits for both stores to
  // leave the store buffer: a failed store forward on every publish.
  Ring* ring_ = nullptr;
  std::uint64_t id_first_ = 0;  // bytes 0..7 of the event id
  detail::FrameHeader* frame_ = nullptr;
  Sequence sequence_ = 0;
  std::uint64_t descriptor_ = 0;
  TimestampNs timestamp_ns_ = 0;
  std::uint64_t correlation_ = 0;
  std::uint64_t id_second_ = 0;  // bytes 8..15
  std::uint32_t data_size_ = 0;
  std::uint32_t metadata_size_ = 0;
  std::uint16_t source_size_ = 0;
};

struct ClaimRequest {
  EventType type = EventType::system_health;
  std::string_view source;
  std::size_t data_size = 0;
  std::size_t metadata_size = 0;
  EventOrigin origin = EventOrigin::local;
  std::uint64_t correlation = 0;
  // Zero means "now"; a nil id means "generate a v4 id".
  TimestampNs timestamp_ns = 0;
  Uuid event_id{};
  // The Redis stream id, for events read from the shared stream.
  std::optional<StreamId> stream_id;
};

// Doorbell: how a subscriber that sleeps elsewhere than on the ring's futex
// (an event loop's poll, say) hears of commits without a thread watching
// the ring for it. Registered once (Ring::add_doorbell); armed by its owner
// when it has run out of events (Ring::arm_doorbell); the first commit after
// that disarms it and calls ring(arg) on the committing thread. So a
// publisher pays the call only for a sleeping owner, and nothing while no
// doorbell (and no Block sleeper) is armed. ring(arg) must be short and
// must not publish (uv_async_send is the intended one).
class Doorbell {
 public:
  using Callback = void (*)(void* arg) noexcept;
  Doorbell(Callback ring, void* arg) noexcept : ring_(ring), arg_(arg) {}
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

 private:
  friend class Ring;
  Callback ring_;
  void* arg_;
  std::atomic<bool> armed_{false};
};

// Per-subscriber counters, in the ring so producers can account evictions.
// consumed_* are written only by the subscriber's own thread (plain
// load + store, no read-modify-write); lost_* by evicting producers.
struct alignas(64) SubscriberCounters {
  std::atomic<std::uint64_t> consumed[kEventTypeCount];
  std::atomic<std::uint64_t> lost[kEventTypeCount];
  std::atomic<std::uint64_t> lost_total;
};

class Ring {
 public:
  // Throws std::invalid_argument for a capacity that is not a power of two, a
  // max_event_size whose frames do not fit four times into the capacity, or
  // no subscriber slots; std::bad_alloc when the memory cannot be had.
  explicit Ring(const RingOptions& options = {});
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // ---- producers (any thread) -------------------------------------------

  // Claims space for one event. Never blocks, never allocates.
  PublishStatus try_claim(const ClaimRequest& request, Claim& out) noexcept;
  // Claims one frame per request, contiguous, with one move of the tail (one
  // CAS instead of one per event) and one time stamp for every request that
  // leaves timestamp_ns at zero. All or nothing: on anything but ok no claim
  // is active. The frames together may not exceed one max_event_size frame
  // (too_large: split the batch). Each Claim is then written and committed
  // (or aborted) on its own, as a single one; subscribers see the frames in
  // order, each as soon as it and those before it are committed.
  // `out` needs at least requests.size() Claims; it may live on the stack.
  PublishStatus try_claim_batch(std::span<const ClaimRequest> requests, std::span<Claim> out) noexcept;
  // Commits claims of this ring as one, typically those of one
  // try_claim_batch once all are written: every header first, then the
  // commit words from the last frame to the first, and sleepers woken once.
  // A subscriber waiting on the first frame then finds the whole run ready
  // when it lands instead of chasing the producer frame by frame. Inactive
  // claims are skipped; a claim of another ring is committed on its own.
  void commit_batch(std::span<Claim> claims) noexcept;
  // The most bytes one claim may take: the frame of a max_event_size event.
  [[nodiscard]] std::uint64_t max_claim_bytes() const noexcept { return max_frame_; }

  // After close(), claims fail with `closed`; subscribers drain what is left.
  // On a single_producer ring, close() from the producer thread (or after it
  // stopped publishing): a claim racing close() could otherwise still land.
  void close() noexcept;
  [[nodiscard]] bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // ---- subscribers ------------------------------------------------------

  // Takes a subscriber slot. With no `start` the subscriber sees every event
  // committed at a sequence >= the tail at attach time; with `start` it
  // begins at that event, which must still be in the ring (its frame intact
  // and at least two maximum frames from being overwritten). Returns the slot
  // or std::nullopt with a reason in `error`. Not for the hot path (on a
  // single_producer ring it issues a membarrier system call).
  [[nodiscard]] std::optional<std::uint32_t> attach(BackPressure mode, EventTypeSet filter,
                                                    std::optional<Sequence> start, std::string* error) noexcept;
  // Takes the slot out of use: producers stop waiting for it at once. The
  // counters stay put (for the owner to hand to the bus totals) until
  // release() frees the slot for the next attach(). Called by the slot's
  // owner, never while it is inside poll().
  void detach(std::uint32_t slot) noexcept;
  void release(std::uint32_t slot) noexcept;

  // Delivers up to `limit` matching events committed at the slot's position
  // and after, in order, to handler(const EventView&, bool end_of_batch),
  // then publishes the new position. Only the slot's owner thread may call it.
  template <typename Handler>
  std::size_t poll(std::uint32_t slot, Handler&& handler, std::size_t limit) noexcept;

  [[nodiscard]] Sequence position(std::uint32_t slot) const noexcept {
    return slots_[slot].state.load(std::memory_order_acquire) & kPositionMask;
  }
  [[nodiscard]] const SubscriberCounters& counters(std::uint32_t slot) const noexcept { return counters_[slot]; }
  [[nodiscard]] bool attached(std::uint32_t slot) const noexcept {
    return (slots_[slot].state.load(std::memory_order_acquire) & kActive) != 0;
  }
  // True when there is a committed frame at the slot's position.
  [[nodiscard]] bool available(std::uint32_t slot) const noexcept;

  // ---- introspection (any thread) ---------------------------------------

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t max_event_size() const noexcept { return max_event_size_; }
  [[nodiscard]] std::size_t max_subscribers() const noexcept { return slot_count_; }
  [[nodiscard]] Sequence tail() const noexcept { return tail_.load(std::memory_order_acquire) & ~kClosedBit; }
  // Bytes between the tail and the slowest gating subscriber: how close
  // publishers are to back-pressure (0 with no gating subscriber).
  [[nodiscard]] std::size_t fill_bytes() const noexcept;
  [[nodiscard]] std::size_t active_subscribers() const noexcept;

  // Used by the Block wait strategy.
  [[nodiscard]] std::atomic<std::uint32_t>& wake_word() const noexcept { return wake_->epoch; }
  void add_sleeper(int delta) const noexcept {
    if (delta > 0 && !wake_->armed.load(std::memory_order_relaxed)) arm_wake_up();
    wake_->sleepers.fetch_add(delta, std::memory_order_seq_cst);
  }
  // Doorbells (see Doorbell). add_doorbell answers false when
  // kMaxDoorbells are registered. remove_doorbell disarms it and returns
  // once no publisher can still call it: then it may be destroyed. Any
  // thread, not the hot path.
  static constexpr std::size_t kMaxDoorbells = 8;
  bool add_doorbell(Doorbell& bell) const noexcept;
  void remove_doorbell(Doorbell& bell) const noexcept;
  // Arms the doorbell: the next commit rings it. A commit that came just
  // before may have missed it, so the owner looks for events once more after
  // arming, and disarm_doorbell()s to handle them itself; disarm answers
  // false when a publisher has already taken (and rung) the doorbell.
  // Arming an armed doorbell changes nothing (one arming, one ring).
  void arm_doorbell(Doorbell& bell) const noexcept {
    if (bell.armed_.exchange(true, std::memory_order_seq_cst)) return;
    if (!wake_->armed.load(std::memory_order_relaxed)) arm_wake_up();
    wake_->sleepers.fetch_add(kDoorbellSleeper, std::memory_order_seq_cst);
  }
  bool disarm_doorbell(Doorbell& bell) const noexcept {
    if (!bell.armed_.exchange(false, std::memory_order_acq_rel)) return false;
    wake_->sleepers.fetch_sub(kDoorbellSleeper, std::memory_order_seq_cst);
    return true;
  }

  // From now on commits to this ring wake the Block sleepers of `other`
  // (and only those): a bus's publications (engine/publication.h) wake
  // whoever waits on the bus's ring. Before this ring is used; `other` must
  // outlive it.
  void share_wake_up_of(const Ring& other) noexcept { wake_ = other.wake_; }

 private:
  friend class Claim;

  // Slot state word: position | flags. Positions are multiples of 64, so the
  // low six bits are free for flags.
  static constexpr std::uint64_t kActive = 1;
  static constexpr std::uint64_t kGating = 2;
  static constexpr std::uint64_t kBusy = 4;       // lossy reader inside poll: pinned
  static constexpr std::uint64_t kReserved = 8;   // taken, not yet attached
  // A gating reader whose first position was at or below reclaim_: it has
  // read (so found committed) every frame from there to its position, which
  // is therefore a reclaim point producers take without walking headers. Set
  // by the reader itself (cover()), never carried over to another attach.
  static constexpr std::uint64_t kCovered = 16;
  static constexpr std::uint64_t kFlagMask = 63;
  static constexpr std::uint64_t kClosedBit = 1;  // in tail_, set by close()
  static constexpr std::uint64_t kPositionMask = ~kFlagMask;

  struct alignas(64) Slot {
    std::atomic<std::uint64_t> state{0};
    std::atomic<std::uint32_t> filter{0};
    std::atomic<Sequence> start{0};  // the first position; the owner's, for cover()
  };

  struct alignas(64) WakeUp {
    mutable std::atomic<std::uint32_t> epoch{0};
    mutable std::atomic<std::int32_t> sleepers{0};
    mutable std::atomic<bool> armed{false};
    // Doorbells, on a line of their own: read only when there are sleepers.
    alignas(64) mutable std::atomic<Doorbell*> doorbells[kMaxDoorbells] = {};
    mutable std::atomic<std::int32_t> ringing{0};  // publishers inside ring_doorbells()
  };

  // The common claim, inline: no padding at the ring's end, the cached floor
  // clears the wrap point, and (several producers) the CAS wins at once.
  // False sends the claim to claim_space(), which handles everything.
  bool try_claim_fast(std::uint64_t size, Sequence& start) noexcept;
  // Both paths' claim of [t, end) under the cached floor: claimed, lost
  // (another producer moved the tail: `t` holds the new one), or not
  // cleared (the floor does not reach wrap_point; `version` and `floor` are
  // what was read, for the slow path).
  enum class FloorClaim : std::uint8_t { claimed, lost, not_cleared };
  FloorClaim claim_under_floor(Sequence& t, Sequence end, Sequence wrap_point, std::uint64_t& version,
                               std::uint64_t& floor) noexcept;
  PublishStatus claim_space(std::uint64_t size, Sequence& start) noexcept;
  std::uint64_t frame_size(const ClaimRequest& request, PublishStatus& why) const noexcept;
  void prepare_claim(const ClaimRequest& request, Sequence start, std::uint64_t size, TimestampNs now,
                     Claim& out) noexcept;
  [[nodiscard]] detail::FrameHeader* frame_at(Sequence s) const noexcept {
    return reinterpret_cast<detail::FrameHeader*>(memory_ + (s & mask_));
  }
  PublishStatus prepare_overwrite(Sequence tail, Sequence wrap_point) noexcept;
  // A gating reader not yet covered: kCovered added when reclaim_ has
  // reached its start (one load per poll until then).
  [[nodiscard]] std::uint64_t cover(std::uint32_t slot, std::uint64_t state) const noexcept {
    const bool covered =
        slots_[slot].start.load(std::memory_order_relaxed) <= reclaim_.load(std::memory_order_acquire);
    return covered ? state | kCovered : state;
  }
  void make_room(Sequence wrap_point) noexcept;
  bool evict(std::uint32_t slot, std::uint64_t state, Sequence wrap_point) noexcept;
  void refresh_floor(std::uint64_t floor_word, std::uint64_t version, Sequence cap) noexcept;
  void notify_commit() const noexcept {
    // Rings that never had a Block sleeper pay one relaxed load. Once armed,
    // we read the sleeper count with a read-modify-write: it is ordered with
    // the sleeper's own registration (an RMW on the same word) before its
    // last check, so either it sees our frame or we see it and wake it. (An
    // RMW rather than a fence: ThreadSanitizer understands it.)
    if (!wake_->armed.load(std::memory_order_relaxed)) return;
    const std::int32_t sleepers = wake_->sleepers.fetch_add(0, std::memory_order_seq_cst);
    if (sleepers == 0) return;
    // Block sleepers count 1 each, armed doorbells kDoorbellSleeper each:
    // wake only the kind that sleeps.
    if ((sleepers & (kDoorbellSleeper - 1)) != 0) wake_all();
    if (sleepers >= kDoorbellSleeper) ring_doorbells();
  }
  void wake_all() const noexcept;
  void ring_doorbells() const noexcept;
  // single_producer rings: a claim was committed or aborted.
  void claim_closed() noexcept {
    open_claims_.store(open_claims_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
  // The first sleeper's: publishers look at wake_->armed with a relaxed load
  // after their commit store, which the CPU may order before that store, so
  // a commit racing the very first sleeper could go unseen on both sides.
  // A process-wide barrier (membarrier) after setting the flag closes that.
  void arm_wake_up() const noexcept;
  static constexpr std::int32_t kDoorbellSleeper = 1 << 16;
  template <typename Handler>
  std::size_t deliver(std::uint32_t slot, Sequence& position, std::uint64_t flags, Handler& handler,
                      std::size_t limit) noexcept;

  char* memory_ = nullptr;
  std::size_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  std::size_t max_event_size_ = 0;
  std::uint64_t max_frame_ = 0;
  std::uint32_t slot_count_ = 0;
  bool single_producer_ = false;
  bool membarrier_registered_ = false;
  std::uint64_t commit_key_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<SubscriberCounters[]> counters_;
  const WakeUp* wake_ = &own_wake_;  // own_wake_, or another ring's (share_wake_up_of)

  // Producers' hot line: the tail alone, so subscribers polling commit words
  // do not false-share with it.
  alignas(64) std::atomic<Sequence> tail_{0};
  // single_producer rings: claims made and not yet committed or aborted.
  // Only the producer thread writes it (plain load + store, no RMW).
  std::atomic<std::uint64_t> open_claims_{0};
  // Read-mostly line: floor_ = (minimum subscriber position) | (version & 63).
  alignas(64) std::atomic<std::uint64_t> floor_{0};
  // Every frame below this sequence is committed (prepare_overwrite()).
  std::atomic<Sequence> reclaim_{0};
  // Slots at or above this index have never been attached: scans stop here.
  std::atomic<std::uint32_t> slots_in_use_{0};
  static constexpr Sequence kReclaimAhead = 64 * 1024;
  static constexpr std::size_t kGuardBytes = 4096;  // >= kJsonPadding, keeps aligned_alloc's size a page multiple
  std::atomic<std::uint64_t> registry_version_{0};
  std::atomic<bool> closed_{false};
  WakeUp own_wake_;
};

// ---- inline hot paths -----------------------------------------------------

inline void Claim::write_header() noexcept {
  frame_->timestamp_ns = timestamp_ns_;
  std::memcpy(frame_->event_id, &id_first_, 8);
  std::memcpy(frame_->event_id + 8, &id_second_, 8);
  frame_->correlation = correlation_;
  frame_->source_size = source_size_;
  frame_->data_size = data_size_;
  frame_->metadata_size = metadata_size_;
  frame_->reserved16 = 0;
  frame_->reserved32 = 0;
  frame_->descriptor.store(descriptor_, std::memory_order_relaxed);
}

inline void Claim::commit() noexcept {
  if (frame_ == nullptr) return;
  write_header();
  frame_->commit.store(sequence_ ^ ring_->commit_key_, std::memory_order_release);
  Ring* ring = ring_;
  frame_ = nullptr;
  if (ring->single_producer_) ring->claim_closed();
  ring->notify_commit();
}

// Checks a request and returns its frame length, or 0 with `why` set.
inline std::uint64_t Ring::frame_size(const ClaimRequest& request, PublishStatus& why) const noexcept {
  if (request.source.size() > UINT16_MAX) {
    why = PublishStatus::invalid;
    return 0;
  }
  // A stream id counts toward the event's size, so no frame passes max_frame_.
  const std::size_t trailer = request.stream_id ? detail::kStreamIdSize : 0;
  const std::size_t body = request.source.size() + request.data_size + request.metadata_size + trailer;
  if (body > max_event_size_ || request.data_size > max_event_size_ || request.metadata_size > max_event_size_) {
    why = PublishStatus::too_large;
    return 0;
  }
  return detail::frame_length(request.source.size(), request.data_size, request.metadata_size, trailer);
}

inline Ring::FloorClaim Ring::claim_under_floor(Sequence& t, Sequence end, Sequence wrap_point,
                                                 std::uint64_t& version, std::uint64_t& floor) noexcept {
  // The load order t -> version -> floor -> claim is what attach() relies on.
  version = registry_version_.load(std::memory_order_seq_cst);
  floor = floor_.load(std::memory_order_seq_cst);
  if ((floor & kFlagMask) != (version & kFlagMask) || wrap_point > (floor & kPositionMask)) {
    return FloorClaim::not_cleared;
  }
  if (single_producer_) {
    // Nobody else writes the tail; attach() copes with this store still
    // sitting in the store buffer (see its membarrier).
    tail_.store(end, std::memory_order_release);
    return FloorClaim::claimed;
  }
  return tail_.compare_exchange_weak(t, end, std::memory_order_seq_cst, std::memory_order_seq_cst)
             ? FloorClaim::claimed
             : FloorClaim::lost;
}

inline bool Ring::try_claim_fast(std::uint64_t size, Sequence& start) noexcept {
  if (closed_.load(std::memory_order_relaxed)) return false;
  Sequence t = tail_.load(std::memory_order_seq_cst);
  if ((t & kClosedBit) != 0 || (t & mask_) + size > capacity_) return false;
  const Sequence end = t + size;
  std::uint64_t version = 0, floor = 0;
  if (claim_under_floor(t, end, end > capacity_ ? end - capacity_ : 0, version, floor) != FloorClaim::claimed) {
    return false;
  }
  start = t;
  return true;
}

// Fills `out` for the frame of `request` at `start` (claimed, not committed).
inline void Ring::prepare_claim(const ClaimRequest& request, Sequence start, std::uint64_t size, TimestampNs now,
                                Claim& out) noexcept {
  detail::FrameHeader* f = frame_at(start);
  if (!request.source.empty()) std::memcpy(f->body(), request.source.data(), request.source.size());
  if (request.stream_id) {
    // After the metadata, before the padding; published by commit()'s release.
    char* at = f->body() + request.source.size() + request.data_size + request.metadata_size;
    std::memcpy(at, &request.stream_id->ms, 8);
    std::memcpy(at + 8, &request.stream_id->seq, 8);
  }
  out.timestamp_ns_ = request.timestamp_ns != 0 ? request.timestamp_ns : now;
  const Uuid id = request.event_id.is_nil() ? Uuid::generate_v4() : request.event_id;
  std::memcpy(&out.id_first_, id.bytes.data(), 8);
  std::memcpy(&out.id_second_, id.bytes.data() + 8, 8);
  out.correlation_ = request.correlation;
  out.source_size_ = static_cast<std::uint16_t>(request.source.size());
  out.data_size_ = static_cast<std::uint32_t>(request.data_size);
  out.metadata_size_ = static_cast<std::uint32_t>(request.metadata_size);
  out.ring_ = this;
  out.frame_ = f;
  if (single_producer_) open_claims_.store(open_claims_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  out.sequence_ = start;
  out.descriptor_ =
      detail::make_descriptor(static_cast<std::uint32_t>(size), detail::FrameKind::event, request.type,
                              request.origin, request.stream_id.has_value());
}

inline PublishStatus Ring::try_claim(const ClaimRequest& request, Claim& out) noexcept {
  if (out.active()) out.abort();
  PublishStatus why = PublishStatus::ok;
  const std::uint64_t size = frame_size(request, why);
  if (size == 0) return why;
  Sequence start = 0;
  if (!try_claim_fast(size, start)) {
    const PublishStatus s = claim_space(size, start);
    if (s != PublishStatus::ok) return s;
  }
  prepare_claim(request, start, size, request.timestamp_ns != 0 ? request.timestamp_ns : now_ns(), out);
  return PublishStatus::ok;
}

inline void Ring::commit_batch(std::span<Claim> claims) noexcept {
  std::uint64_t committed = 0;
  for (std::size_t i = claims.size(); i-- > 0;) {
    Claim& c = claims[i];
    if (c.frame_ == nullptr) continue;
    if (c.ring_ != this) {
      c.commit();
      continue;
    }
    c.write_header();
    c.frame_->commit.store(c.sequence_ ^ commit_key_, std::memory_order_release);
    c.frame_ = nullptr;
    ++committed;
  }
  if (committed == 0) return;
  if (single_producer_) {
    open_claims_.store(open_claims_.load(std::memory_order_relaxed) - committed, std::memory_order_relaxed);
  }
  notify_commit();
}

inline bool Ring::available(std::uint32_t slot) const noexcept {
  const Sequence p = position(slot);
  return frame_at(p)->commit.load(std::memory_order_acquire) == (p ^ commit_key_);
}

template <typename Handler>
std::size_t Ring::deliver(std::uint32_t slot, Sequence& position, std::uint64_t flags, Handler& handler,
                          std::size_t limit) noexcept {
  std::atomic<std::uint64_t>& state = slots_[slot].state;
  const std::uint32_t filter = slots_[slot].filter.load(std::memory_order_relaxed);
  SubscriberCounters& counters = counters_[slot];
  // The previous matching event is held back until we know whether another
  // follows, so the handler learns which one ends the batch in a single pass.
  const detail::FrameHeader* pending = nullptr;
  Sequence pending_seq = 0;
  std::uint64_t pending_desc = 0;
  std::size_t delivered = 0;
  while (delivered < limit) {
    const detail::FrameHeader* f = frame_at(position);
    if (f->commit.load(std::memory_order_acquire) != (position ^ commit_key_)) break;
    const std::uint64_t d = f->descriptor.load(std::memory_order_relaxed);
    const Sequence here = position;
    position += detail::descriptor_length(d);
    if (detail::descriptor_kind(d) != detail::FrameKind::event) continue;
    const EventType type = detail::descriptor_type(d);
    if (filter != 0 && (filter & (1u << to_index(type))) == 0) continue;
    if (pending != nullptr) {
      // Publish our position as the frame in hand before each handler call:
      // producers may reuse everything before it, so a handler that itself
      // publishes into this ring waits on nobody but the frame it is reading.
      state.store(pending_seq | flags, std::memory_order_release);
      handler(EventView(pending, pending_seq, pending_desc), false);
    }
    pending = f;
    pending_seq = here;
    pending_desc = d;
    auto& c = counters.consumed[to_index(type)];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    ++delivered;
  }
  if (pending != nullptr) {
    state.store(pending_seq | flags, std::memory_order_release);
    handler(EventView(pending, pending_seq, pending_desc), true);
  }
  return delivered;
}

template <typename Handler>
std::size_t Ring::poll(std::uint32_t slot, Handler&& handler, std::size_t limit) noexcept {
  Slot& s = slots_[slot];
  std::uint64_t state = s.state.load(std::memory_order_acquire);
  // Nothing committed at our position: return before touching the shared
  // state word, so an idle subscriber does not steal producers' cache lines.
  if (frame_at(state & kPositionMask)->commit.load(std::memory_order_acquire) !=
      ((state & kPositionMask) ^ commit_key_)) {
    return 0;
  }
  if ((state & kGating) == 0) {
    // Lossy: pin the position so no producer evicts us while the handler
    // reads frames in place. The CAS fails when a producer has just evicted
    // us; the reloaded state then carries the new position.
    while (!s.state.compare_exchange_weak(state, state | kBusy, std::memory_order_seq_cst,
                                          std::memory_order_acquire)) {
    }
  }
  if ((state & (kGating | kCovered)) == kGating) state = cover(slot, state);
  Sequence position = state & kPositionMask;
  const std::uint64_t kept = state & (kActive | kGating | kCovered);
  const std::uint64_t held = (state & kGating) != 0 ? kept : kActive | kBusy;
  const std::size_t delivered = deliver(slot, position, held, handler, limit);
  // Release: the handler's reads of the frames happen before any producer
  // that sees the new position overwrites them.
  s.state.store(position | kept, std::memory_order_release);
  return delivered;
}

}  // namespace tradpal
