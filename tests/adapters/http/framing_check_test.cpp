// FramingCheck against the request syntax RFC 9112 allows, fed whole and
// byte by byte (a request arrives in pieces of any size).
#include "adapters/http/detail/framing_check.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tradpal::http::detail {
namespace {

// Drives the check as the connection does: the header section, then the
// body its fields announce, then the next request. Returns the number of
// complete requests, or -1 when refused.
int requests_in(const std::string& wire, std::size_t piece) {
  FramingCheck check;
  std::string pending;  // received, not yet accepted
  std::string head;     // the accepted header section of the current request
  int complete = 0;
  for (std::size_t at = 0; at < wire.size() || !pending.empty();) {
    if (at < wire.size()) {
      pending += wire.substr(at, piece);
      at += piece;
    }
    for (;;) {
      const auto v = check.check(pending);
      if (v.error != nullptr) return -1;
      const std::string accepted = pending.substr(0, v.accepted);
      pending.erase(0, v.accepted);
      if (!check.awaiting_body() && !check.message_done()) head += accepted;
      if (check.awaiting_body()) {
        head += accepted;
        if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
          check.body(FramingCheck::Body::chunked);
        } else if (const auto cl = head.find("Content-Length: "); cl != std::string::npos) {
          check.body(FramingCheck::Body::length, std::stoull(head.substr(cl + 16)));
        } else {
          check.body(FramingCheck::Body::none);
        }
      }
      if (check.message_done()) {
        ++complete;
        head.clear();
        check.next_message();
        continue;
      }
      if (v.accepted == 0 || pending.empty()) break;
    }
    if (at >= wire.size() && !pending.empty()) {
      // Nothing more will come: what is left is an incomplete request.
      const auto v = check.check(pending);
      if (v.error != nullptr) return -1;
      break;
    }
  }
  return complete;
}

struct Case {
  const char* name;
  std::string wire;
  int requests;  // -1: refused
};

std::vector<Case> cases() {
  const std::string body = R"({"event_type": "risk_alert"})";
  const std::string n = std::to_string(body.size());
  char hex[16];
  std::snprintf(hex, sizeof hex, "%zx", body.size());
  const std::string post = "POST /events HTTP/1.1\r\nHost: t\r\n";
  return {
      {"plain GET", "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 1},
      {"empty lines before", "\r\n\r\nGET /health HTTP/1.1\r\nHost: t\r\n\r\n", 1},
      {"two pipelined", "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", 2},
      {"content length", post + "Content-Length: " + n + "\r\n\r\n" + body, 1},
      {"chunked", post + "Transfer-Encoding: chunked\r\n\r\n" + hex + "\r\n" + body + "\r\n0\r\n\r\n", 1},
      {"chunk extension", post + "Transfer-Encoding: chunked\r\n\r\n" + hex + " ;a=b\r\n" + body + "\r\n0\r\n\r\n", 1},
      {"trailer", post + "Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n", 1},
      {"value with tabs and high bytes", "GET / HTTP/1.1\r\nHost: t\r\nX-A: \ta \xc3\xa9\t\r\n\r\n", 1},
      {"bare LF", "GET / HTTP/1.1\nHost: t\n\n", -1},
      {"bare LF in a field", "GET / HTTP/1.1\r\nHost: t\nX: 1\r\n\r\n", -1},
      {"CR alone", "GET / HTTP/1.1\r\nHost: t\rX: 1\r\n\r\n", -1},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", -1},
      {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: t\r\n\r\n", -1},
      {"space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n", -1},
      {"space in name", "GET / HTTP/1.1\r\nX A: 1\r\n\r\n", -1},
      {"empty name", "GET / HTTP/1.1\r\n: 1\r\n\r\n", -1},
      {"NUL in value", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), -1},
      {"DEL in value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", -1},
      {"double space", "GET  / HTTP/1.1\r\nHost: t\r\n\r\n", -1},
      {"space after version", "GET / HTTP/1.1 \r\nHost: t\r\n\r\n", -1},
      {"tab in request line", "GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n", -1},
      // Found by fuzzing: http-parser, built lenient, takes "H" for a version
      // and then swallows whatever follows.
      {"truncated version", "GET /health H\r\n\r\n", -1},
      {"version letters", "GET / HTTP/x.1\r\nHost: t\r\n\r\n", -1},
      {"long version", "GET / HTTP/1.11\r\nHost: t\r\n\r\n", -1},
      {"lower-case version", "GET / http/1.1\r\nHost: t\r\n\r\n", -1},
      {"chunk size then space", post + "Transfer-Encoding: chunked\r\n\r\n" + hex + " \r\n" + body + "\r\n0\r\n\r\n", -1},
      {"chunk size 0x", post + "Transfer-Encoding: chunked\r\n\r\n0x" + hex + "\r\n" + body + "\r\n0\r\n\r\n", -1},
      {"chunk size negative", post + "Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n0\r\n\r\n", -1},
      {"chunk size 17 digits", post + "Transfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n0\r\n\r\n", -1},
      {"chunk data without CRLF", post + "Transfer-Encoding: chunked\r\n\r\n" + hex + "\r\n" + body + "XX0\r\n\r\n", -1},
      {"chunk data then LF only", post + "Transfer-Encoding: chunked\r\n\r\n" + hex + "\r\n" + body + "\n0\r\n\r\n", -1},
      {"folded trailer", post + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n 2\r\n\r\n", -1},
      {"smuggled in a length body", post + "Content-Length: 5\r\n\r\nGET /x HTTP/1.1\r\nHost: t\r\n\r\n", -1},
  };
}

TEST(FramingCheck, AcceptsWhatRfc9112AllowsAndRefusesTheRestWholeOrInPieces) {
  for (const Case& c : cases()) {
    for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, c.wire.size()}) {
      EXPECT_EQ(requests_in(c.wire, piece), c.requests) << c.name << " in pieces of " << piece;
    }
  }
}

TEST(FramingCheck, StopsAtTheEndOfTheHeaderSectionAndOfTheMessage) {
  FramingCheck check;
  const std::string head = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n";
  const std::string wire = head + "abcGET";
  auto v = check.check(wire);
  EXPECT_EQ(v.accepted, head.size());
  EXPECT_TRUE(check.awaiting_body());
  EXPECT_EQ(check.check(wire.substr(v.accepted)).accepted, 0u) << "nothing before body()";
  check.body(FramingCheck::Body::length, 3);
  v = check.check(wire.substr(head.size()));
  EXPECT_EQ(v.accepted, 3u);
  EXPECT_TRUE(check.message_done());
  EXPECT_EQ(check.check("GET").accepted, 0u) << "nothing before next_message()";
  check.next_message();
  EXPECT_EQ(check.check("GET").accepted, 3u);
}

}  // namespace
}  // namespace tradpal::http::detail
