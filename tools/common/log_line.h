// tools/common/log_line.h
//
// One log line of a stream processor on stderr: "<UTC time>Z <tool>: <text>",
// written with one fwrite so lines of several threads do not interleave.
// Header only; any thread.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "engine/timestamp.h"

namespace tradpal::tools {

inline void log_line(std::string_view tool, std::string_view text) {
  std::string line = format_iso_timestamp(now_ns());
  line += "Z ";
  line += tool;
  line += ": ";
  line += text;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace tradpal::tools
