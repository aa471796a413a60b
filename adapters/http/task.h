// adapters/http/task.h
//
// Task: a move-only `void()` callable, so that work handed to the loop thread
// (Server::post) may own move-only things such as a Responder, which
// std::function (copyable) cannot hold. Constructing one allocates; running
// or moving it does not. Not thread-safe itself: one owner at a time.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace tradpal::http {

class Task {
 public:
  Task() = default;

  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Task>>>
  Task(F&& f)  // NOLINT(google-explicit-constructor): lambdas convert implicitly
      : callable_(std::make_unique<Holder<std::decay_t<F>>>(std::forward<F>(f))) {}

  Task(Task&&) noexcept = default;
  Task& operator=(Task&&) noexcept = default;

  explicit operator bool() const noexcept { return callable_ != nullptr; }
  void operator()() { callable_->call(); }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void call() = 0;
  };
  template <typename F>
  struct Holder final : Base {
    explicit Holder(F&& f) : fn(std::move(f)) {}
    explicit Holder(const F& f) : fn(f) {}
    void call() override { fn(); }
    F fn;
  };
  std::unique_ptr<Base> callable_;
};

}  // namespace tradpal::http
