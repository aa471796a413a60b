// adapters/http/json_writer.h
//
// JsonWriter: builds one JSON answer in a string, commas and quoting done
// for the caller, so no handler assembles JSON by concatenation. Strings are
// written as Python's json.dumps writes them (non-ASCII as \uXXXX), which
// also means bytes that are not valid UTF-8 (a client's, echoed back in an
// error) come out as \ufffd, never raw: every answer is valid JSON.
//
//   JsonWriter w;
//   w.begin_object().key("message_id").string(id).key("count").number(3).end_object();
//   std::string body = std::move(w).take();
//
// A plain value: one thread at a time. Misuse (a value where a key is due)
// is the caller's bug and is not checked beyond debug assertions.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tradpal::http {

class JsonWriter {
 public:
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  // The next member's name (inside an object).
  JsonWriter& key(std::string_view name);

  JsonWriter& string(std::string_view value);
  JsonWriter& number(std::uint64_t value);
  JsonWriter& number(std::int64_t value);
  JsonWriter& number(int value) { return number(static_cast<std::int64_t>(value)); }
  // Finite doubles in the shortest form that reads back exactly; NaN and
  // infinities (not JSON) as null.
  JsonWriter& number(double value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  // Text that is already one JSON value (an event's data object, say).
  JsonWriter& raw(std::string_view json);

  [[nodiscard]] const std::string& str() const noexcept { return out_; }
  [[nodiscard]] std::string take() && { return std::move(out_); }

 private:
  JsonWriter& open(char c);
  JsonWriter& close(char c);
  void before_value();

  std::string out_;
  // One entry per open container: true until its first element is written.
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace tradpal::http
