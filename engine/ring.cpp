#include "engine/ring.h"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <stdexcept>

#include "engine/wait_strategy.h"

namespace tradpal {

using detail::FrameHeader;
using detail::FrameKind;

// ---- Claim ------------------------------------------------------------------

Claim& Claim::operator=(Claim&& other) noexcept {
  if (this != &other) {
    abort();
    ring_ = other.ring_;
    frame_ = other.frame_;
    sequence_ = other.sequence_;
    descriptor_ = other.descriptor_;
    timestamp_ns_ = other.timestamp_ns_;
    correlation_ = other.correlation_;
    id_first_ = other.id_first_;
    id_second_ = other.id_second_;
    data_size_ = other.data_size_;
    metadata_size_ = other.metadata_size_;
    source_size_ = other.source_size_;
    other.frame_ = nullptr;
  }
  return *this;
}

void Claim::abort() noexcept {
  if (frame_ == nullptr) return;
  const std::uint32_t length = detail::descriptor_length(descriptor_);
  frame_->descriptor.store(
      detail::make_descriptor(length, FrameKind::padding, EventType::system_health, EventOrigin::local),
      std::memory_order_relaxed);
  frame_->commit.store(sequence_ ^ ring_->commit_key_, std::memory_order_release);
  frame_ = nullptr;
  if (ring_->single_producer_) ring_->claim_closed();
  ring_->notify_commit();
}

// ---- construction -------------------------------------------------------------

Ring::Ring(const RingOptions& options) {
  const std::size_t cap = options.capacity;
  if (cap < 4096 || (cap & (cap - 1)) != 0) {
    throw std::invalid_argument("ring capacity must be a power of two of at least 4096 bytes");
  }
  max_frame_ = detail::frame_length(0, 0, options.max_event_size);
  if (options.max_event_size == 0 || max_frame_ * 4 > cap || options.max_event_size > UINT32_MAX / 2) {
    throw std::invalid_argument("max_event_size must be positive and its frames must fit four times in the ring");
  }
  if (options.max_subscribers == 0 || options.max_subscribers > 4096) {
    throw std::invalid_argument("max_subscribers must be between 1 and 4096");
  }
  capacity_ = cap;
  mask_ = cap - 1;
  max_event_size_ = options.max_event_size;
  slot_count_ = static_cast<std::uint32_t>(options.max_subscribers);
  single_producer_ = options.single_producer;
  if (single_producer_) {
    membarrier_registered_ = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  }
  // A random key in every commit word: bytes a publisher wrote one lap ago
  // can then never pass for a committed frame header. The top bit stays
  // clear so no sequence XOR the key equals the all-ones fill below.
  std::random_device rd;
  commit_key_ = ((std::uint64_t{rd()} << 32) ^ rd()) & ~(std::uint64_t{1} << 63);
  // One page past the end: the guard that keeps simdjson's reads past the
  // last frame's text inside the ring (frame.h); nothing is written there.
  static_assert(kGuardBytes >= detail::kJsonPadding && kGuardBytes % 4096 == 0);
  memory_ = static_cast<char*>(std::aligned_alloc(4096, cap + kGuardBytes));
  if (memory_ == nullptr) throw std::bad_alloc();
  // 0xff in every commit word: no sequence ever equals it, so no frame reads
  // as committed before a producer wrote it. The memset also faults every
  // page in now rather than on the first lap.
  std::memset(memory_, 0xff, cap + kGuardBytes);
  slots_ = std::make_unique<Slot[]>(slot_count_);
  counters_ = std::make_unique<SubscriberCounters[]>(slot_count_);
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    for (auto& c : counters_[i].consumed) c.store(0, std::memory_order_relaxed);
    for (auto& c : counters_[i].lost) c.store(0, std::memory_order_relaxed);
    counters_[i].lost_total.store(0, std::memory_order_relaxed);
  }
}

Ring::~Ring() { std::free(memory_); }

// ---- claiming -------------------------------------------------------------------

// Claims [start, start + size) of contiguous memory (padding the end of the
// ring first when it does not fit there): see the header comment.
PublishStatus Ring::claim_space(std::uint64_t size, Sequence& start) noexcept {
  if (closed_.load(std::memory_order_relaxed)) return PublishStatus::closed;
  Sequence t = tail_.load(std::memory_order_seq_cst);
  std::uint64_t pad = 0;
  for (;;) {
    if ((t & kClosedBit) != 0) return PublishStatus::closed;
    const std::uint64_t index = t & mask_;
    pad = index + size > capacity_ ? capacity_ - index : 0;
    const Sequence end = t + pad + size;
    // Memory [t, end) last held the frames at sequences [t - cap, end - cap):
    // those must all be committed and every subscriber must be at or past
    // end - cap before we write.
    const Sequence wrap_point = end > capacity_ ? end - capacity_ : 0;
    std::uint64_t version = 0, floor = 0;
    const FloorClaim fast = claim_under_floor(t, end, wrap_point, version, floor);
    if (fast == FloorClaim::claimed) {
      start = t;
      break;
    }
    if (fast == FloorClaim::lost) continue;
    // Slow path: make sure the memory may be overwritten before claiming
    // it, so a claim that cannot proceed fails without having taken space.
    const PublishStatus room = prepare_overwrite(t, wrap_point);
    if (room != PublishStatus::ok) return room;
    if (single_producer_) {
      tail_.store(end, std::memory_order_seq_cst);
    } else if (!tail_.compare_exchange_strong(t, end, std::memory_order_seq_cst, std::memory_order_seq_cst)) {
      continue;
    }
    start = t;
    make_room(wrap_point);
    refresh_floor(floor, version, end);
    break;
  }
  if (pad != 0) {
    FrameHeader* p = frame_at(start);
    p->descriptor.store(detail::make_descriptor(static_cast<std::uint32_t>(pad), FrameKind::padding,
                                                EventType::system_health, EventOrigin::local),
                        std::memory_order_relaxed);
    p->commit.store(start ^ commit_key_, std::memory_order_release);
    start += pad;
  }
  return PublishStatus::ok;
}

PublishStatus Ring::try_claim_batch(std::span<const ClaimRequest> requests, std::span<Claim> out) noexcept {
  if (out.size() < requests.size()) return PublishStatus::invalid;
  for (std::size_t i = 0; i < requests.size(); ++i) out[i].abort();
  if (requests.empty()) return PublishStatus::ok;
  std::uint64_t total = 0;
  for (const ClaimRequest& r : requests) {
    PublishStatus why = PublishStatus::ok;
    const std::uint64_t size = frame_size(r, why);
    if (size == 0) return why;
    total += size;
  }
  // One claim may not exceed the largest single frame: the ring's sizing
  // (four of those per lap) is what keeps claims from starving each other.
  if (total > max_frame_) return PublishStatus::too_large;
  Sequence start = 0;
  const PublishStatus s = claim_space(total, start);
  if (s != PublishStatus::ok) return s;
  const TimestampNs now = now_ns();  // one time stamp for the batch
  for (std::size_t i = 0; i < requests.size(); ++i) {
    PublishStatus ignored = PublishStatus::ok;
    const std::uint64_t size = frame_size(requests[i], ignored);
    prepare_claim(requests[i], start, size, now, out[i]);
    start += size;
  }
  return PublishStatus::ok;
}

PublishStatus Ring::prepare_overwrite(Sequence tail, Sequence wrap_point) noexcept {
  // 1. Every frame of the lap we are about to overwrite must be committed: a
  //    producer preempted inside its claim still owns its bytes. reclaim_
  //    says how far that is known; walk on from there, and a little further
  //    than needed so this slow path is not taken on every claim. Only a
  //    little: each step is a cache miss on an old header, and a walk over
  //    a quarter of a 16 MiB ring cost a publisher milliseconds at once.
  //    Frames in [reclaim_, tail) are this lap's and nobody overwrites them
  //    until reclaim_ has passed them.
  Sequence known = reclaim_.load(std::memory_order_acquire);
  if (single_producer_ && wrap_point > known && open_claims_.load(std::memory_order_relaxed) == 0) {
    // The one producer (this thread) holds no claim: every frame below the
    // tail is committed, no header needs reading.
    reclaim_.store(tail, std::memory_order_release);
    known = tail;
  }
  if (wrap_point > known) {
    // A covered gating reader has found every frame below its position
    // committed: with one attached, the walk is not needed at all.
    Sequence proven = known;
    const std::uint32_t in_use = slots_in_use_.load(std::memory_order_seq_cst);
    constexpr std::uint64_t kProof = kActive | kGating | kCovered;
    for (std::uint32_t i = 0; i < in_use; ++i) {
      const std::uint64_t s = slots_[i].state.load(std::memory_order_acquire);
      if ((s & kProof) == kProof) proven = std::max(proven, s & kPositionMask);
    }
    while (known < proven && !reclaim_.compare_exchange_weak(known, proven, std::memory_order_acq_rel)) {
    }
    known = std::max(known, proven);
  }
  if (wrap_point > known) {
    const Sequence limit = std::min(tail, wrap_point + std::min<Sequence>(capacity_ / 4, kReclaimAhead));
    Sequence p = known;
    while (p < limit) {
      const FrameHeader* f = frame_at(p);
      if (f->commit.load(std::memory_order_acquire) != (p ^ commit_key_)) break;
      const std::uint32_t length = detail::descriptor_length(f->descriptor.load(std::memory_order_relaxed));
      if (length < detail::kFrameAlignment || length % detail::kFrameAlignment != 0 || length > capacity_) break;
      p += length;
    }
    if (p < wrap_point) return PublishStatus::back_pressured;
    while (known < p && !reclaim_.compare_exchange_weak(known, p, std::memory_order_acq_rel)) {
    }
  }
  // 2. Subscribers: gating ones and lossy ones inside their handler hold us
  //    back; idle lossy ones are moved past the wrap point now, before the
  //    claim, so try_claim never has to wait for them afterwards.
  const std::uint32_t slots = slots_in_use_.load(std::memory_order_seq_cst);
  for (std::uint32_t i = 0; i < slots; ++i) {
    for (;;) {
      const std::uint64_t s = slots_[i].state.load(std::memory_order_seq_cst);
      if ((s & kActive) == 0 || (s & kPositionMask) >= wrap_point) break;
      if ((s & (kGating | kBusy)) != 0) return PublishStatus::back_pressured;
      // Fails only when the reader moved meanwhile: look again.
      if (evict(i, s, wrap_point)) break;
    }
  }
  return PublishStatus::ok;
}

void Ring::make_room(Sequence wrap_point) noexcept {
  // prepare_overwrite() cleared the way before the claim; what is left are
  // subscribers that attached in between. attach() pins for a few
  // instructions, so the waits here are that short.
  const std::uint32_t slots = slots_in_use_.load(std::memory_order_seq_cst);
  for (std::uint32_t i = 0; i < slots; ++i) {
    for (;;) {
      const std::uint64_t s = slots_[i].state.load(std::memory_order_seq_cst);
      if ((s & kActive) == 0 || (s & kPositionMask) >= wrap_point) break;
      if ((s & (kGating | kBusy)) != 0 || !evict(i, s, wrap_point)) detail::cpu_relax();
    }
  }
}

bool Ring::evict(std::uint32_t slot, std::uint64_t state, Sequence wrap_point) noexcept {
  std::uint32_t lost[kEventTypeCount] = {};
  const std::uint32_t filter = slots_[slot].filter.load(std::memory_order_relaxed);
  Sequence p = state & kPositionMask;
  while (p < wrap_point) {
    // These frames are a lap old and committed (reclaim_ is past them); only
    // a producer that already moved this reader on may be rewriting them,
    // and then the CAS below fails and the counts are discarded.
    const FrameHeader* f = frame_at(p);
    if (f->commit.load(std::memory_order_acquire) != (p ^ commit_key_)) return false;
    const std::uint64_t d = f->descriptor.load(std::memory_order_relaxed);
    const std::uint32_t length = detail::descriptor_length(d);
    if (length < detail::kFrameAlignment || length % detail::kFrameAlignment != 0) return false;
    if (detail::descriptor_kind(d) == FrameKind::event) {
      const std::size_t type = to_index(detail::descriptor_type(d));
      // Only what the subscriber would have received counts as lost.
      if (filter == 0 || (filter & (1u << type)) != 0) ++lost[type];
    }
    p += length;
  }
  std::uint64_t expected = state;
  if (!slots_[slot].state.compare_exchange_strong(expected, p | (state & kFlagMask), std::memory_order_seq_cst,
                                                  std::memory_order_seq_cst)) {
    return false;
  }
  SubscriberCounters& c = counters_[slot];
  std::uint64_t total = 0;
  for (std::size_t t = 0; t < kEventTypeCount; ++t) {
    if (lost[t] != 0) {
      c.lost[t].fetch_add(lost[t], std::memory_order_relaxed);
      total += lost[t];
    }
  }
  c.lost_total.fetch_add(total, std::memory_order_release);
  return true;
}

void Ring::refresh_floor(std::uint64_t floor_word, std::uint64_t version, Sequence cap) noexcept {
  Sequence lowest = std::min(cap, reclaim_.load(std::memory_order_acquire));
  const std::uint32_t slots = slots_in_use_.load(std::memory_order_seq_cst);
  for (std::uint32_t i = 0; i < slots; ++i) {
    const std::uint64_t s = slots_[i].state.load(std::memory_order_seq_cst);
    if ((s & kActive) != 0) lowest = std::min(lowest, s & kPositionMask);
  }
  // Tagged with the registry version read before the scan. The CAS keeps a
  // newer producer's floor from being replaced by ours; if a subscriber
  // attached since our scan began, our floor may have missed it, so it is
  // withdrawn again (attach() also resets the floor: between the two, no
  // stale floor survives however many attaches wrap the 6-bit tag).
  std::uint64_t expected = floor_word;
  const std::uint64_t mine = lowest | (version & kFlagMask);
  if (floor_.compare_exchange_strong(expected, mine, std::memory_order_seq_cst, std::memory_order_relaxed) &&
      registry_version_.load(std::memory_order_seq_cst) != version) {
    expected = mine;
    floor_.compare_exchange_strong(expected, 0, std::memory_order_seq_cst, std::memory_order_relaxed);
  }
}

// ---- subscribers --------------------------------------------------------------

std::optional<std::uint32_t> Ring::attach(BackPressure mode, EventTypeSet filter, std::optional<Sequence> start,
                                          std::string* error) noexcept {
  auto fail = [&](const char* why) -> std::optional<std::uint32_t> {
    if (error != nullptr) {
      try {
        *error = why;
      } catch (...) {
      }
    }
    return std::nullopt;
  };
  if (start && (*start & kFlagMask) != 0) return fail("sequence is not the start of an event");
  std::uint32_t slot = slot_count_;
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    std::uint64_t expected = 0;
    if (slots_[i].state.compare_exchange_strong(expected, kReserved, std::memory_order_acq_rel)) {
      slot = i;
      break;
    }
  }
  if (slot == slot_count_) return fail("no free subscriber slot (max_subscribers reached)");
  // Producers scan slots below this mark only. Raised before the pin, so a
  // producer that sees the pin (seq_cst, later) also scans far enough.
  std::uint32_t used = slots_in_use_.load(std::memory_order_seq_cst);
  while (used < slot + 1 && !slots_in_use_.compare_exchange_weak(used, slot + 1, std::memory_order_seq_cst)) {
  }
  Slot& s = slots_[slot];
  s.filter.store(filter.bits(), std::memory_order_relaxed);
  for (auto& c : counters_[slot].consumed) c.store(0, std::memory_order_relaxed);
  for (auto& c : counters_[slot].lost) c.store(0, std::memory_order_relaxed);
  counters_[slot].lost_total.store(0, std::memory_order_relaxed);

  const std::uint64_t flags = kActive | (mode == BackPressure::block ? kGating : 0);
  const Sequence pinned = start ? *start : tail_.load(std::memory_order_seq_cst) & ~kClosedBit;
  // 1. Pin: from here on every producer that scans sees us and will not
  //    overwrite past `pinned`.
  s.state.store(pinned | flags | kBusy, std::memory_order_seq_cst);
  // 2. Invalidate every cached floor computed before the pin: the new
  //    version makes old tags stale, and the reset covers a tag that has
  //    wrapped around (refresh_floor() withdraws one installed meanwhile).
  registry_version_.fetch_add(1, std::memory_order_seq_cst);
  floor_.store(0, std::memory_order_seq_cst);
  // A single producer publishes the tail with a plain store that may still
  // sit in its store buffer while its next claim reads the old version; the
  // membarrier drains every thread's buffer, so the tail read below is not
  // older than any claim that trusted an old floor.
  if (single_producer_ && membarrier_registered_) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  // 3. A producer that skipped the scan with an old floor loaded the tail
  //    before step 2, so its claim ends at most one maximum frame (plus its
  //    padding) past the tail we read now.
  const Sequence tail = tail_.load(std::memory_order_seq_cst) & ~kClosedBit;
  Sequence position = tail;
  if (start) {
    position = *start;
    const char* why = nullptr;
    if (single_producer_ && !membarrier_registered_) {
      why = "starting at a past sequence needs membarrier(2) on a single_producer ring";
    } else if (position > tail) {
      why = "sequence is past the newest event";
    } else if (position + capacity_ < tail + 2 * max_frame_) {
      why = "sequence is no longer in the ring";
    } else if (position < tail &&
               frame_at(position)->commit.load(std::memory_order_acquire) != (position ^ commit_key_)) {
      why = "sequence is not the start of a committed event";
    }
    if (why != nullptr) {
      s.state.store(0, std::memory_order_release);
      return fail(why);
    }
  }
  s.start.store(position, std::memory_order_relaxed);
  s.state.store(position | flags, std::memory_order_seq_cst);
  return slot;
}

void Ring::detach(std::uint32_t slot) noexcept {
  // Reserved, not free: producers stop looking at the slot at once, but no
  // attach() may take it (and zero its counters) until release().
  if (slot < slot_count_) slots_[slot].state.store(kReserved, std::memory_order_seq_cst);
}

void Ring::release(std::uint32_t slot) noexcept {
  if (slot < slot_count_) slots_[slot].state.store(0, std::memory_order_release);
}

void Ring::close() noexcept {
  closed_.store(true, std::memory_order_seq_cst);
  // With several producers the closed bit in the tail makes every later
  // CAS fail, so no claim can slip in after subscribers saw the last tail.
  if (!single_producer_) tail_.fetch_or(kClosedBit, std::memory_order_seq_cst);
}

std::size_t Ring::fill_bytes() const noexcept {
  const Sequence t = tail();
  Sequence lowest = t;
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    const std::uint64_t s = slots_[i].state.load(std::memory_order_acquire);
    if ((s & kActive) != 0 && (s & kGating) != 0) lowest = std::min(lowest, s & kPositionMask);
  }
  return static_cast<std::size_t>(t - lowest);
}

std::size_t Ring::active_subscribers() const noexcept {
  std::size_t n = 0;
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    if ((slots_[i].state.load(std::memory_order_acquire) & kActive) != 0) ++n;
  }
  return n;
}

// ---- Block wait strategy ------------------------------------------------------

void Ring::wake_all() const noexcept {
  wake_->epoch.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&wake_->epoch), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr,
          0);
}

void Ring::arm_wake_up() const noexcept {
  if (wake_->armed.exchange(true, std::memory_order_seq_cst)) return;
  // Every other thread passes a full barrier before this returns: a
  // publisher's commit store is then visible to our check that follows, or
  // its later load of `armed` sees true. Registration is once per process.
  static const bool registered =
      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  if (!registered || syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
    (void)syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
  }
}

void Ring::ring_doorbells() const noexcept {
  // `ringing` tells remove_doorbell() that a publisher may hold a doorbell
  // it read from the table: it waits for zero before the owner may free it.
  wake_->ringing.fetch_add(1, std::memory_order_seq_cst);
  for (auto& entry : wake_->doorbells) {
    Doorbell* bell = entry.load(std::memory_order_seq_cst);
    // Whoever turns armed_ from true to false (this publisher, another one,
    // or the owner disarming) owns that arming: it alone takes the count
    // back, and only a publisher that won calls the owner.
    if (bell != nullptr && bell->armed_.exchange(false, std::memory_order_acq_rel)) {
      wake_->sleepers.fetch_sub(kDoorbellSleeper, std::memory_order_seq_cst);
      bell->ring_(bell->arg_);
    }
  }
  wake_->ringing.fetch_sub(1, std::memory_order_seq_cst);
}

bool Ring::add_doorbell(Doorbell& bell) const noexcept {
  for (auto& entry : wake_->doorbells) {
    Doorbell* expected = nullptr;
    if (entry.compare_exchange_strong(expected, &bell, std::memory_order_seq_cst)) return true;
  }
  return false;
}

void Ring::remove_doorbell(Doorbell& bell) const noexcept {
  for (auto& entry : wake_->doorbells) {
    Doorbell* expected = &bell;
    entry.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst);
  }
  disarm_doorbell(bell);
  // A publisher that read the entry before it was cleared is inside
  // ring_doorbells() now; one that comes later cannot see it.
  while (wake_->ringing.load(std::memory_order_seq_cst) != 0) detail::cpu_relax();
}

namespace detail {
void block_until_commit(const Ring& ring, std::chrono::microseconds timeout, bool (*ready)(const void*),
                        const void* context) noexcept {
  ring.add_sleeper(1);
  const std::uint32_t epoch = ring.wake_word().load(std::memory_order_acquire);
  if (!ready(context)) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000);
    ts.tv_nsec = static_cast<long>((timeout.count() % 1'000'000) * 1000);
    // Returns at once if a publisher bumped the epoch since we read it.
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&ring.wake_word()), FUTEX_WAIT_PRIVATE, epoch, &ts, nullptr,
            0);
  }
  ring.add_sleeper(-1);
}
}  // namespace detail

}  // namespace tradpal
