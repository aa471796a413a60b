// client/detail/answers.h
//
// Reading eventd's answers: the FastAPI error shapes (CONTRACT.md §2) turned
// into a ClientError, and the JSON members the client needs. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "client/client_error.h"
#include "client/detail/response_reader.h"

namespace tradpal::client::detail {

// The `detail` of an error answer as one line of text: the string itself,
// or "loc: msg" items of a 422 joined with "; ". Empty when there is none.
[[nodiscard]] std::string error_detail(std::string_view body);

// The count of a stream's `missed` note, {"missed": 12, "total_missed": 40};
// 1 when it names none (a note says at least one was missed).
[[nodiscard]] std::uint64_t missed_count(std::string_view data);

// The ClientError for a non-2xx answer to `what` (e.g. "POST /events").
[[nodiscard]] ClientError answer_error(const HttpResponse& r, std::string_view what);

// Percent-encodes a query value.
[[nodiscard]] std::string url_encode(std::string_view value);

}  // namespace tradpal::client::detail
