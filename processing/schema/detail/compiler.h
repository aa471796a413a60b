// processing/schema/detail/compiler.h
//
// Turns a draft-07 schema text into a CompiledSchema: parses it once,
// checks every keyword's value, builds each regex once, resolves every
// `$ref` to a node index, and refuses what it does not support (see
// schema.h for the exact scope). Throws SchemaError naming the JSON Pointer
// of the offending place. Internal; any thread, one compile per call.
#pragma once

#include <memory>
#include <string_view>

#include "processing/schema/detail/compiled_schema.h"

namespace tradpal::schema::detail {

[[nodiscard]] std::shared_ptr<const CompiledSchema> compile_schema(std::string_view schema_json);

}  // namespace tradpal::schema::detail
