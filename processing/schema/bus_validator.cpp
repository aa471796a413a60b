// processing/schema/bus_validator.cpp
#include "processing/schema/bus_validator.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>

namespace tradpal::schema {
namespace {

// One per publishing thread: the parser keeps its buffers between events,
// and `buffer` holds a padded copy of the data (simdjson reads up to
// SIMDJSON_PADDING bytes past the end, which the publisher's bytes may not
// have). Both grow to the largest event the thread checked, never shrink.
struct ThreadScratch {
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;

  // Room for `size` bytes and the padding; false when it cannot grow.
  bool fit(std::size_t size) noexcept {
    const std::size_t need = size + simdjson::SIMDJSON_PADDING;
    if (need <= capacity) return true;
    const std::size_t want = std::max<std::size_t>(need, 4096);
    std::unique_ptr<char[]> grown(new (std::nothrow) char[want]);
    if (!grown) return false;
    buffer = std::move(grown);
    capacity = want;
    return true;
  }
};

ThreadScratch& thread_scratch() noexcept {
  thread_local ThreadScratch scratch;
  return scratch;
}

using Part = PublishRejection::Part;

}  // namespace

BusValidator::BusValidator(const SchemaSet& schemas) {
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    if (const Schema* s = schemas.find(kEventTypeNames[i])) schemas_[i] = *s;
  }
}

std::size_t BusValidator::size() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(schemas_.begin(), schemas_.end(), [](const std::optional<Schema>& s) { return s.has_value(); }));
}

bool BusValidator::validate(const Event& event, PublishRejection* rejection) const noexcept {
  const Schema* schema = schema_for(event.type);
  if (schema == nullptr) return true;
  ThreadScratch& scratch = thread_scratch();
  if (!scratch.fit(event.data.size())) {
    // Refused rather than let through unchecked: the bus promised its
    // subscribers that this type's data matches the schema.
    if (rejection != nullptr) rejection->reject(Part::data, "", "cannot be checked against its schema: out of memory");
    return false;
  }
  if (!event.data.empty()) std::memcpy(scratch.buffer.get(), event.data.data(), event.data.size());
  simdjson::dom::element root;
  const simdjson::error_code parsed =
      scratch.parser.parse(scratch.buffer.get(), event.data.size(), /*realloc_if_needed=*/false).get(root);
  if (parsed != simdjson::SUCCESS) {
    if (rejection != nullptr) {
      rejection->reject(Part::data, "", "is not valid JSON: ");
      rejection->append_message(simdjson::error_message(parsed));
    }
    return false;
  }
  // The allocation-free walk first; the describing one only for a refusal
  // that someone wants described.
  if (schema->is_valid(root)) return true;
  if (rejection == nullptr) return false;
  try {
    // Walks again (is_valid first, then the describing walk): the same
    // verdict, now with the place and the reason.
    const ValidationResult result = schema->validate(root);
    if (!result.ok()) rejection->reject(Part::data, result.error().pointer(), result.error().message);
  } catch (...) {
    // Only bad_alloc can come out of describing a failure.
    rejection->reject(Part::data, "", "fails its schema (out of memory describing where)");
  }
  return false;
}

}  // namespace tradpal::schema
