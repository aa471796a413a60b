#include "tools/eventd/persister_inbox.h"

#include <string>

#include "tools/eventd/log.h"

namespace tradpal::eventd {

void PersisterInbox::connect(Post post, Sinks sinks) {
  post_ = std::move(post);
  sinks_ = std::move(sinks);
}

void PersisterInbox::wake_locked() noexcept {
  if (posted_ || !post_) return;
  try {
    posted_ = post_([this] { drain(); });
  } catch (...) {
    // Out of memory for the task: the next push tries again.
  }
}

template <typename T>
void PersisterInbox::queue(std::vector<T>& into, std::span<const T> items, const char* what) noexcept {
  std::lock_guard lock(mutex_);
  try {
    into.insert(into.end(), items.begin(), items.end());
  } catch (...) {
    // The publishes concerned answer 503 at their deadline.
    try {
      log_line(std::string("cannot queue ") + what + " for the HTTP loop (out of memory)");
    } catch (...) {
    }
  }
  wake_locked();
}

void PersisterInbox::acknowledged(std::span<const redis::Acknowledgement> burst) noexcept {
  queue(acks_, burst, "acknowledgements");
}

void PersisterInbox::abandoned(std::span<const std::uint64_t> correlations) noexcept {
  queue(abandoned_, correlations, "abandoned publishes");
}

void PersisterInbox::refused(std::uint64_t correlation, std::string_view) noexcept {
  queue(refused_, std::span<const std::uint64_t>(&correlation, 1), "a refused publish");
}

void PersisterInbox::state_changed(const redis::PersisterState&) noexcept {
  // The loop reads the state itself (the persister's atomics), fresh, when
  // it drains: only the fact that it changed travels.
  std::lock_guard lock(mutex_);
  state_dirty_ = true;
  wake_locked();
}

void PersisterInbox::drain() {
  bool state = false;
  {
    std::lock_guard lock(mutex_);
    posted_ = false;
    draining_acks_.swap(acks_);
    draining_abandoned_.swap(abandoned_);
    draining_refused_.swap(refused_);
    state = state_dirty_;
    state_dirty_ = false;
  }
  if (!draining_acks_.empty() && sinks_.acknowledged) sinks_.acknowledged(draining_acks_);
  if (!draining_refused_.empty() && sinks_.refused) sinks_.refused(draining_refused_);
  if (!draining_abandoned_.empty() && sinks_.abandoned) sinks_.abandoned(draining_abandoned_);
  if (state && sinks_.state_changed) sinks_.state_changed();
  draining_acks_.clear();
  draining_abandoned_.clear();
  draining_refused_.clear();
}

}  // namespace tradpal::eventd
