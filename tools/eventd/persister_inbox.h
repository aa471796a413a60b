// tools/eventd/persister_inbox.h
//
// PersisterInbox: eventd's PersisterListener. The persister pushes from its
// I/O thread; the inbox gathers what it is told (acknowledged bursts,
// abandoned and refused tokens, state changes) in one queue and wakes the HTTP loop
// once, however much arrives before the loop gets to it. On the loop the
// owner's sinks take it: acknowledgements first, then refusals, then
// abandonments, then one state refresh. Nothing polls: no timer drives
// publish answers or health.
//
//   persister (I/O thread) ──acknowledged / abandoned / state_changed──► inbox
//   inbox ──one Server::post while nothing is queued──► drain() on the loop
//
// Threads: the listener calls on the persister's I/O thread, drain() and
// the sinks on the loop thread. Set the sinks before the persister starts.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "adapters/http/task.h"
#include "adapters/redis/persister_listener.h"

namespace tradpal::eventd {

class PersisterInbox final : public redis::PersisterListener {
 public:
  using Post = std::function<bool(http::Task)>;
  struct Sinks {
    std::function<void(std::span<const redis::Acknowledgement>)> acknowledged;
    std::function<void(std::span<const std::uint64_t>)> abandoned;
    std::function<void(std::span<const std::uint64_t>)> refused;
    std::function<void()> state_changed;
  };

  PersisterInbox() = default;
  PersisterInbox(const PersisterInbox&) = delete;
  PersisterInbox& operator=(const PersisterInbox&) = delete;

  // Wiring, before the persister is built.
  void connect(Post post, Sinks sinks);

  // ---- persister's I/O thread ------------------------------------------------
  void acknowledged(std::span<const redis::Acknowledgement> burst) noexcept override;
  void abandoned(std::span<const std::uint64_t> correlations) noexcept override;
  void state_changed(const redis::PersisterState& state) noexcept override;
  void refused(std::uint64_t correlation, std::string_view why) noexcept override;

  // ---- loop thread ------------------------------------------------------------
  // Hands everything queued to the sinks (also what arrives while it runs).
  void drain();

 private:
  // Caller holds mutex_. Posts drain() unless one is already on its way.
  void wake_locked() noexcept;
  // Appends under the lock and wakes the loop; `what` names them in the log.
  template <typename T>
  void queue(std::vector<T>& into, std::span<const T> items, const char* what) noexcept;

  Post post_;
  Sinks sinks_;
  std::mutex mutex_;
  std::vector<redis::Acknowledgement> acks_;
  std::vector<std::uint64_t> abandoned_;
  std::vector<std::uint64_t> refused_;
  bool state_dirty_ = false;
  bool posted_ = false;
  // Loop thread: the batches being handed over.
  std::vector<redis::Acknowledgement> draining_acks_;
  std::vector<std::uint64_t> draining_abandoned_;
  std::vector<std::uint64_t> draining_refused_;
};

}  // namespace tradpal::eventd
