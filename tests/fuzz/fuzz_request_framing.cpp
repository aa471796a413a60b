// Fuzz harness: request framing, FramingCheck differential against
// http-parser. Fed the bytes the check accepts, the parser (lenient, as
// Debian builds it) must never disagree about where a message ends: every
// message the check completes, the parser completes too, at the same byte.
#include <http_parser.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/http/detail/framing_check.h"

namespace {

struct State {
  tradpal::http::detail::FramingCheck* check = nullptr;
};

int on_headers_complete(http_parser* p) {
  auto* s = static_cast<State*>(p->data);
  using Body = tradpal::http::detail::FramingCheck::Body;
  if (p->flags & F_CHUNKED) {
    s->check->body(Body::chunked);
  } else if (p->content_length != ULLONG_MAX) {
    s->check->body(Body::length, p->content_length);
  } else {
    s->check->body(Body::none);
  }
  return 0;
}

int on_message_complete(http_parser* p) {
  auto* s = static_cast<State*>(p->data);
  s->check->next_message();
  http_parser_pause(p, 1);
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http_parser_settings settings{};
  settings.on_headers_complete = on_headers_complete;
  settings.on_message_complete = on_message_complete;
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  tradpal::http::detail::FramingCheck check;
  State state;
  state.check = &check;
  parser.data = &state;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int guard = 0; guard < 10000 && !input.empty(); ++guard) {
    const auto verdict = check.check(input);
    if (verdict.error != nullptr || verdict.accepted == 0) break;
    const std::size_t parsed = http_parser_execute(&parser, &settings, input.data(), verdict.accepted);
    const auto err = HTTP_PARSER_ERRNO(&parser);
    if (err != HPE_OK && err != HPE_PAUSED) break;  // refused on meaning: the connection answers 400
    // The parser takes the accepted bytes whole (it pauses only at the end
    // of a message, where the check stops too), and wherever the check saw
    // a header section or a message end, the parser saw one: its callbacks
    // told the check, which is then no longer waiting at either.
    if (parsed != verdict.accepted || check.awaiting_body() || check.message_done()) __builtin_trap();
    if (err == HPE_PAUSED) http_parser_pause(&parser, 0);
    if (parser.upgrade) break;  // another protocol follows: the connection stops reading
    input.remove_prefix(parsed);
  }
  return 0;
}
