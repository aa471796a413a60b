// tools/evctl/output.h
//
// How evctl prints: for people at a terminal, short lines and aligned
// tables; for programs (stdout not a terminal, or --json), one JSON object
// per line. Errors never go here: they go to stderr. Main thread only
// (tail's handler runs on the thread that calls run()).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/event.h"

namespace tradpal::evctl {

enum class Format { human, json };

// One event as a line: `message_id  timestamp  type  source  data` for
// people, {"message_id": ..., <the wire JSON's members>} for programs.
[[nodiscard]] std::string event_line(const Event& event, std::string_view message_id, Format format);

// Rows of cells as a table with a header, columns padded to their widest
// cell (the last column is not padded).
[[nodiscard]] std::string table(const std::vector<std::string>& header,
                                const std::vector<std::vector<std::string>>& rows);

// A JSON text on one line (JSON's insignificant white space removed; the
// text must be valid JSON).
[[nodiscard]] std::string one_line(std::string_view json);

}  // namespace tradpal::evctl
