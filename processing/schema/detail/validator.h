// processing/schema/detail/validator.h
//
// Applies a CompiledSchema to an instance. is_valid answers yes or no and
// allocates nothing; first_error walks again to describe the first failure
// (instance path, keyword, message), allocating only for that report. The
// two share one walk (a template on whether to report), so they cannot
// disagree. Internal; any thread, with a schema shared read-only.
#pragma once

#include <simdjson.h>

#include "processing/schema/detail/compiled_schema.h"
#include "processing/schema/validation_result.h"

namespace tradpal::schema::detail {

[[nodiscard]] bool is_valid(const CompiledSchema& schema, simdjson::dom::element instance) noexcept;

// Precondition: !is_valid(schema, instance).
[[nodiscard]] ValidationError first_error(const CompiledSchema& schema, simdjson::dom::element instance);

}  // namespace tradpal::schema::detail
