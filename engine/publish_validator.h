// engine/publish_validator.h
//
// PublishValidator: an opt-in check a Bus runs on every event before
// claiming ring space for it (BusOptions::validator), e.g. a JSON Schema per
// event type (processing/schema/bus_validator.h). A publish it refuses
// answers PublishStatus::invalid and writes nothing. PublishRejection: the
// fixed-size record of why a publish answered `invalid` (which part of the
// event, the JSON Pointer of the failing value in it, a short message).
//
// The engine knows only this interface, so it depends on no validator;
// whoever builds the Bus hands it one.
//
//   struct PositivePrice final : tradpal::PublishValidator {
//     bool validate(const Event& e, tradpal::PublishRejection* why) const noexcept override {
//       if (e.type != tradpal::EventType::market_data_update || !has_negative_price(e.data)) return true;
//       if (why != nullptr) why->reject(tradpal::PublishRejection::Part::data, "/price", "must be > 0");
//       return false;
//     }
//   };
//   PositivePrice check;
//   tradpal::Bus bus({.validator = &check});
//   tradpal::PublishRejection why;
//   if (bus.try_publish(spec, nullptr, &why) == tradpal::PublishStatus::invalid) log(why.path(), why.message());
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "engine/event_type.h"

namespace tradpal {

// Why a publish answered `invalid`. Plain bytes, no allocation: it lives on
// the publisher's stack and is filled on the failure path only. Strings
// longer than a buffer are cut at a UTF-8 character boundary and the cut is
// flagged (truncated()), so what is kept is always valid text. One thread
// at a time, as any value.
class PublishRejection {
 public:
  // The part of the event that was refused.
  enum class Part : std::uint8_t {
    none,      // nothing recorded (the state before a refusal)
    source,    // the source name (longer than a frame can hold)
    data,      // the data object: not JSON, or refused by the validator
    metadata,  // the metadata object
  };
  // Bytes kept of each string, not counting the terminating NUL.
  static constexpr std::size_t kMaxPath = 127;
  static constexpr std::size_t kMaxMessage = 127;

  PublishRejection() noexcept { clear(); }

  void clear() noexcept {
    part_ = Part::none;
    path_size_ = message_size_ = 0;
    truncated_ = message_cut_ = false;
    path_[0] = message_[0] = '\0';
  }

  // Records a refusal: `path` is an RFC 6901 JSON Pointer into `part`
  // ("" for the whole of it, "/positions/1/qty"), `message` is for people
  // and names no location ("must be number"). Replaces what was there.
  void reject(Part part, std::string_view path, std::string_view message) noexcept {
    part_ = part;
    truncated_ = message_cut_ = false;
    path_size_ = static_cast<std::uint16_t>(copy(path, path_, kMaxPath));
    message_size_ = static_cast<std::uint16_t>(copy(message, message_, kMaxMessage));
    message_cut_ = message_size_ < message.size();
  }
  // Adds to the message, for validators that build it from pieces
  // ("is not valid JSON: " + the parser's reason) without allocating.
  // Nothing is added after a cut, so a message never has a hole.
  void append_message(std::string_view more) noexcept {
    if (message_cut_) return;
    const std::size_t n = copy(more, message_ + message_size_, kMaxMessage - message_size_);
    message_cut_ = n < more.size();
    message_size_ = static_cast<std::uint16_t>(message_size_ + n);
  }

  [[nodiscard]] Part part() const noexcept { return part_; }
  [[nodiscard]] std::string_view path() const noexcept { return {path_, path_size_}; }
  [[nodiscard]] std::string_view message() const noexcept { return {message_, message_size_}; }
  // NUL-terminated forms of the same, for printf and C callers.
  [[nodiscard]] const char* path_c_str() const noexcept { return path_; }
  [[nodiscard]] const char* message_c_str() const noexcept { return message_; }
  // True when the path or the message was cut to fit.
  [[nodiscard]] bool truncated() const noexcept { return truncated_; }

 private:
  // Copies as much of `text` as fits `room` bytes (and a NUL) without
  // splitting a UTF-8 sequence; returns the bytes copied.
  std::size_t copy(std::string_view text, char* to, std::size_t room) noexcept {
    std::size_t n = text.size();
    if (n > room) {
      truncated_ = true;
      n = room;
      // Back off to the first byte of the character the cut falls in.
      while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
    }
    if (n != 0) std::memcpy(to, text.data(), n);
    to[n] = '\0';
    return n;
  }

  Part part_;
  bool truncated_;
  bool message_cut_;  // the message is full: append_message adds nothing
  std::uint16_t path_size_;
  std::uint16_t message_size_;
  char path_[kMaxPath + 1];
  char message_[kMaxMessage + 1];
};

[[nodiscard]] constexpr std::string_view to_string(PublishRejection::Part p) noexcept {
  switch (p) {
    case PublishRejection::Part::none: return "none";
    case PublishRejection::Part::source: return "source";
    case PublishRejection::Part::data: return "data";
    case PublishRejection::Part::metadata: return "metadata";
  }
  return "unknown";
}

// Implemented by whoever wants a say over what a Bus publishes. The bus
// calls validate() on the publishing thread, after its own JSON check passed
// (BusOptions::json_check: with JsonCheck::shape the text may still be
// malformed, so a validator that parses must cope with that) and before it
// claims ring space. Events it would refuse as too_large are not shown to
// it.
//
// Contract for implementers:
//   - thread-safe: any number of publishing threads call validate() at once
//     on the same object (keep per-thread scratch in thread_local storage);
//   - noexcept, and allocation-free for an event it accepts once the calling
//     thread has warmed up (the bus's steady state allocates nothing);
//   - returns true to let the event through; false to refuse it, having
//     filled `rejection` when that is not null (null: the caller does not
//     want the detail, so skip building it);
//   - the views borrow the publisher's bytes for the call only; no padding
//     follows them.
// The validator must outlive every Bus given it and must not publish on
// that bus from validate().
class PublishValidator {
 public:
  // What a validator is shown of one event.
  struct Event {
    EventType type = EventType::system_health;
    std::string_view source;
    std::string_view data;      // a JSON object as text
    std::string_view metadata;  // a JSON object as text
  };

  virtual ~PublishValidator() = default;
  [[nodiscard]] virtual bool validate(const Event& event, PublishRejection* rejection) const noexcept = 0;

 protected:
  PublishValidator() = default;
  PublishValidator(const PublishValidator&) = default;
  PublishValidator& operator=(const PublishValidator&) = default;
};

}  // namespace tradpal
