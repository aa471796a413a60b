#include "tools/evctl/output.h"

#include <algorithm>

#include "engine/event_json.h"
#include "engine/json.h"
#include "engine/timestamp.h"

namespace tradpal::evctl {

std::string event_line(const Event& event, std::string_view message_id, Format format) {
  if (format == Format::json) {
    const std::string wire = event_json(event);  // {"event_type": ...}
    std::string out = "{\"message_id\": ";
    append_quoted(out, message_id);
    out += ", ";
    out += one_line(std::string_view(wire).substr(1));
    return out;
  }
  std::string out(message_id.empty() ? "-" : message_id);
  out += "  ";
  out += format_iso_timestamp(event.timestamp_ns);
  out += "  ";
  out += to_string(event.type);
  out += "  ";
  out += event.source;
  out += "  ";
  out += one_line(event.data);
  return out;
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(width[i] - row[i].size() + 2, ' ');
    }
    out += '\n';
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return out;
}

std::string one_line(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false, escaped = false;
  for (const char c : json) {
    if (in_string) {
      out += c;
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '\n' || c == '\r' || c == '\t') continue;
    if (c == ' ' && !out.empty() && (out.back() == ' ')) continue;
    out += c;
  }
  return out;
}

}  // namespace tradpal::evctl
