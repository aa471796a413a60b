// tests/client/client_units_test.cpp
//
// The client library's parts that need no server: the service URL, the SSE
// reader and the HTTP response reader (fed in every split), and the FastAPI
// error detail.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/detail/answers.h"
#include "client/detail/response_reader.h"
#include "client/detail/sse_reader.h"
#include "client/service_url.h"

namespace tradpal::client {
namespace {

TEST(ServiceUrl, ParsesHostPortPrefixAndIpv6) {
  auto u = ServiceUrl::parse("http://localhost:8011");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, "8011");
  EXPECT_EQ(u->prefix, "");
  u = ServiceUrl::parse("http://[::1]:9000/api/events/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
  EXPECT_EQ(u->prefix, "/api/events");
  EXPECT_EQ(u->authority(), "[::1]:9000");
  u = ServiceUrl::parse("http://example.org");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->authority(), "example.org");
}

TEST(ServiceUrl, RefusesWhatItCannotServeWithAReason) {
  for (const char* bad : {"https://h:1", "ftp://h", "h:8011", "http://", "http://h:0", "http://h:65536",
                          "http://h:x", "http://::1:80", "http://[::1", "http://u:p@h:1", "http://h:1/?q=1"}) {
    std::string why;
    EXPECT_FALSE(ServiceUrl::parse(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

std::vector<detail::SseMessage> sse_in_pieces(const std::string& text, std::size_t piece) {
  std::vector<detail::SseMessage> out;
  detail::SseReader r([&](const detail::SseMessage& m) { out.push_back(m); });
  for (std::size_t i = 0; i < text.size(); i += piece) EXPECT_TRUE(r.feed(text.substr(i, piece)));
  return out;
}

TEST(SseReader, ReadsMessagesSplitAnywhereWithEveryLineEnding) {
  for (const std::string eol : {"\n", "\r\n", "\r"}) {
    const std::string text = "retry: 1000" + eol + "id: 5-0" + eol + ": connected" + eol + eol + "id: 6-0" + eol +
                             "event: risk_alert" + eol + "data: {\"a\": 1," + eol + "data:\"b\": 2}" + eol + eol +
                             ": heartbeat" + eol + eol + "event: missed" + eol + "data: {}" + eol + eol;
    for (std::size_t piece = 1; piece <= text.size(); ++piece) {
      const auto m = sse_in_pieces(text, piece);
      ASSERT_EQ(m.size(), 3u) << "piece " << piece;
      EXPECT_TRUE(m[0].has_id);
      EXPECT_EQ(m[0].id, "5-0");
      EXPECT_FALSE(m[0].has_data);
      EXPECT_EQ(m[1].id, "6-0");
      EXPECT_EQ(m[1].event, "risk_alert");
      EXPECT_EQ(m[1].data, "{\"a\": 1,\n\"b\": 2}");
      EXPECT_EQ(m[2].event, "missed");
      EXPECT_FALSE(m[2].has_id);
    }
  }
}

TEST(SseReader, RefusesALineLongerThanItsBound) {
  detail::SseReader r([](const detail::SseMessage&) {}, 16);
  EXPECT_TRUE(r.feed("data: 0123456"));
  EXPECT_FALSE(r.feed("789abcdefghij"));
}

TEST(ResponseReader, ReadsPipelinedAnswersInEverySplit) {
  const std::string text =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\n{\"de\r\n9\r\ntail\": 1}\r\n0\r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
  for (std::size_t piece = 1; piece <= text.size(); ++piece) {
    std::vector<detail::HttpResponse> got;
    detail::ResponseReader r([&](detail::HttpResponse&& x) { got.push_back(std::move(x)); });
    for (std::size_t i = 0; i < text.size(); i += piece) {
      ASSERT_TRUE(r.feed(text.data() + i, std::min(piece, text.size() - i))) << r.error();
    }
    ASSERT_EQ(got.size(), 3u) << "piece " << piece;
    EXPECT_EQ(got[0].status, 200);
    EXPECT_EQ(got[0].body, "{\"a\":1}");
    EXPECT_EQ(got[0].content_type, "application/json");
    EXPECT_TRUE(got[0].keep_alive);
    EXPECT_EQ(got[1].status, 503);
    EXPECT_EQ(got[1].retry_after, "1");
    EXPECT_EQ(got[1].body, "{\"detail\": 1}");
    EXPECT_EQ(got[2].status, 404);
    EXPECT_FALSE(got[2].keep_alive);
    EXPECT_TRUE(r.idle());
  }
}

TEST(ResponseReader, ACloseDelimitedBodyEndsAtTheCloseAndACutAnswerIsAnError) {
  std::vector<detail::HttpResponse> got;
  detail::ResponseReader r([&](detail::HttpResponse&& x) { got.push_back(std::move(x)); });
  const std::string_view close_delimited = "HTTP/1.0 200 OK\r\n\r\nabc";
  ASSERT_TRUE(r.feed(close_delimited.data(), close_delimited.size()));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(r.finish());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "abc");

  detail::ResponseReader cut([](detail::HttpResponse&&) {});
  const std::string_view short_body = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  ASSERT_TRUE(cut.feed(short_body.data(), short_body.size()));
  EXPECT_FALSE(cut.finish());
  detail::ResponseReader junk([](detail::HttpResponse&&) {});
  const std::string_view smtp = "SMTP ready\r\n";
  EXPECT_FALSE(junk.feed(smtp.data(), smtp.size()));
  EXPECT_FALSE(junk.error().empty());
}

TEST(Answers, ErrorDetailReadsBothFastApiShapes) {
  EXPECT_EQ(detail::error_detail(R"({"detail": "Invalid event type: 'x' is not a valid EventType"})"),
            "Invalid event type: 'x' is not a valid EventType");
  EXPECT_EQ(detail::error_detail(
                R"({"detail": [{"loc": ["query", "limit"], "msg": "too big", "type": "x"}, {"loc": ["body", 0], "msg": "m"}]})"),
            "query.limit: too big; body.0: m");
  EXPECT_EQ(detail::error_detail("not json"), "");
  EXPECT_EQ(detail::url_encode("2026-01-01T00:00:00+01:00 x/y"), "2026-01-01T00:00:00%2B01:00%20x%2Fy");
}

TEST(Answers, MissedCountReadsTheNoteOrSaysOne) {
  EXPECT_EQ(detail::missed_count(R"({"total_missed": 40, "missed": 12})"), 12u);
  EXPECT_EQ(detail::missed_count(R"({"total_missed": 40})"), 1u);
  EXPECT_EQ(detail::missed_count("{}x"), 1u);
  EXPECT_EQ(detail::missed_count(R"({"missed": 0})"), 1u);
}

}  // namespace
}  // namespace tradpal::client
