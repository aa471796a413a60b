// processing/schema/detail/instance.h
//
// Instance: the value a schema node is applied to. Almost always a DOM
// element; propertyNames applies a schema to an object's key, which is no
// element, so an Instance may also be a bare string. It borrows the
// document (or the key) and lives no longer than one validate() call.
// Internal to processing/schema; any thread.
#pragma once

#include <simdjson.h>

#include <string_view>

namespace tradpal::schema::detail {

class Instance {
 public:
  explicit Instance(simdjson::dom::element element) noexcept : element_(element) {}

  [[nodiscard]] static Instance key(std::string_view name) noexcept {
    Instance instance{simdjson::dom::element()};
    instance.key_ = name;
    instance.is_key_ = true;
    return instance;
  }

  [[nodiscard]] bool is_key() const noexcept { return is_key_; }

  [[nodiscard]] simdjson::dom::element_type type() const noexcept {
    return is_key_ ? simdjson::dom::element_type::STRING : element_.type();
  }

  // Precondition: type() is STRING.
  [[nodiscard]] std::string_view string() const noexcept {
    return is_key_ ? key_ : element_.get_string().value_unsafe();
  }

  // Precondition: !is_key().
  [[nodiscard]] simdjson::dom::element element() const noexcept { return element_; }

 private:
  simdjson::dom::element element_;
  std::string_view key_;
  bool is_key_ = false;
};

}  // namespace tradpal::schema::detail
