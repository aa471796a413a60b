// processing/schema/bus_validator.h
//
// BusValidator: a Bus's publish check (tradpal::PublishValidator) made of
// JSON Schemas, one per event type: a publish whose data fails its type's
// schema answers `invalid`, and the PublishRejection names the failing value
// by its JSON Pointer into data ("/price") with the schema's message
// ("must be of type number"). Event types without a schema pass unchecked;
// metadata is not checked (the schemas describe data, as eventd applies
// them).
//
// Who may call it: the Bus, from any number of publishing threads at once.
// The schemas are immutable and every thread parses with its own
// thread_local parser and padded copy buffer, so nothing is shared but
// read-only data. validate() never throws, and an event its schema accepts
// costs no allocation once the thread has seen one as large (the buffer and
// the parser grow to the largest event, RE2 caches its DFA states). A
// refusal allocates only to describe it, when the caller asked for a
// PublishRejection; out of memory there still refuses, with a shorter
// message.
//
// Cost: a schema's data is parsed again here (simdjson DOM) after the bus's
// own JSON check; the copy is what gives simdjson its padding, which the
// publisher's bytes lack. Integers beyond 64 bits, which the bus's check
// accepts, are not JSON to simdjson: a type with a schema refuses them.
//
// Lifetime: it copies the schemas it needs (they share their compiled
// trees), so the SchemaSet may go; the BusValidator must outlive every Bus
// given it.
//
//   const auto schemas = tradpal::schema::SchemaSet::load_directory("schemas");
//   const tradpal::schema::BusValidator validator(schemas);
//   tradpal::Bus bus({.validator = &validator});
//   tradpal::PublishRejection why;
//   if (bus.publish_market_data("BTC", R"({"price": "high"})", "feed", nullptr, 0, &why) ==
//       tradpal::PublishStatus::invalid) {
//     // why.path() == "/price", why.message() == "must be of type number"
//   }
#pragma once

#include <array>
#include <cstddef>
#include <optional>

#include "engine/event_type.h"
#include "engine/publish_validator.h"
#include "processing/schema/schema.h"
#include "processing/schema/schema_set.h"

namespace tradpal::schema {

class BusValidator final : public PublishValidator {
 public:
  // Takes the schema of every event type `schemas` has one for; entries
  // named after no event type are ignored.
  explicit BusValidator(const SchemaSet& schemas);

  [[nodiscard]] bool validate(const Event& event, PublishRejection* rejection) const noexcept override;

  // The schema applied to `type`'s data, or null when it passes unchecked.
  [[nodiscard]] const Schema* schema_for(EventType type) const noexcept {
    const std::optional<Schema>& s = schemas_[to_index(type)];
    return s ? &*s : nullptr;
  }
  // How many event types have a schema.
  [[nodiscard]] std::size_t size() const noexcept;

 private:
  // Indexed by event type: a lookup per publish is one load, no string
  // comparison.
  std::array<std::optional<Schema>, kEventTypeCount> schemas_;
};

}  // namespace tradpal::schema
