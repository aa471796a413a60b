// processing/schema/detail/json_pointer.h
//
// JSON Pointer (RFC 6901) helpers for the schema compiler and error
// reporting: escape one reference token, and split a `$ref` URI fragment
// ("#/definitions/a~1b", percent-encoded as URIs are) into decoded tokens.
// Internal to processing/schema; pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tradpal::schema::detail {

// Appends `token` with '~' written "~0" and '/' written "~1".
void append_pointer_token(std::string& out, std::string_view token);

// `fragment` is what follows '#' in a URI. Percent escapes are decoded
// first (the fragment is a URI part), then the pointer is split and each
// token unescaped. nullopt when the fragment is no JSON Pointer: a bad
// percent escape, a '~' not followed by 0 or 1, or a first character other
// than '/' (a plain-name fragment, which needs `$id` anchors).
[[nodiscard]] std::optional<std::vector<std::string>> parse_fragment_pointer(std::string_view fragment);

}  // namespace tradpal::schema::detail
