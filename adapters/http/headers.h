// adapters/http/headers.h
//
// HeaderList: the header fields of a request or a response, in the order they
// were received or added, duplicates kept. Field names compare
// case-insensitively (RFC 9110 §5.1). Plain value type: any thread may use its
// own copy; nothing here allocates except the list itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tradpal::http {

using Header = std::pair<std::string, std::string>;
using HeaderList = std::vector<Header>;

// ASCII case-insensitive equality, as field names and methods' tokens need.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

// The value of the first field called `name`, if any. The view points into
// `headers` and lives as long as the list is not modified.
[[nodiscard]] std::optional<std::string_view> find_header(const HeaderList& headers,
                                                          std::string_view name) noexcept;

// True when the comma-separated value of some field `name` holds `token`
// (case-insensitive), as in `Connection: keep-alive, Upgrade`.
[[nodiscard]] bool header_has_token(const HeaderList& headers, std::string_view name,
                                    std::string_view token) noexcept;

}  // namespace tradpal::http
