#include "client/detail/answers.h"

#include <simdjson.h>

#include <cctype>
#include <cstdio>

namespace tradpal::client::detail {

namespace {

// One loc item as text: strings as they are, numbers in decimal.
void append_loc_item(std::string& out, simdjson::ondemand::value v) {
  std::string_view s;
  if (!v.get_string().get(s)) {
    out += s;
    return;
  }
  std::int64_t n = 0;
  if (!v.get_int64().get(n)) out += std::to_string(n);
}

}  // namespace

std::uint64_t missed_count(std::string_view data) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(data);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  std::uint64_t n = 0;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(root) ||
      root.find_field_unordered("missed").get_uint64().get(n) || n == 0) {
    return 1;
  }
  return n;
}

std::string error_detail(std::string_view body) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return {};
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return {};
  simdjson::ondemand::value detail;
  if (root.find_field_unordered("detail").get(detail)) return {};
  std::string_view text;
  if (!detail.get_string().get(text)) return std::string(text);
  simdjson::ondemand::array items;
  if (detail.get_array().get(items)) return {};
  std::string out;
  for (auto item_result : items) {
    simdjson::ondemand::object item;
    if (item_result.get_object().get(item)) continue;
    std::string loc, msg;
    simdjson::ondemand::array loc_items;
    if (!item.find_field_unordered("loc").get_array().get(loc_items)) {
      for (auto l : loc_items) {
        simdjson::ondemand::value v;
        if (l.get(v)) continue;
        if (!loc.empty()) loc += '.';
        append_loc_item(loc, v);
      }
    }
    std::string_view m;
    if (!item.find_field_unordered("msg").get_string().get(m)) msg = std::string(m);
    if (!out.empty()) out += "; ";
    out += loc.empty() ? msg : loc + ": " + msg;
  }
  return out;
}

ClientError answer_error(const HttpResponse& r, std::string_view what) {
  std::string detail = error_detail(r.body);
  std::string message = std::string(what) + " answered " + std::to_string(r.status);
  if (!detail.empty()) message += ": " + detail;
  ErrorKind kind = ErrorKind::protocol;
  if (r.status >= 400 && r.status < 500) kind = ErrorKind::rejected;
  if (r.status >= 500) kind = ErrorKind::server;
  return ClientError(kind, std::move(message), r.status, std::move(detail), true);
}

std::string url_encode(std::string_view value) {
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace tradpal::client::detail
