// RequestReader on its own: the steps it reports, the input bounds it
// enforces, and what it hands out, with no socket in the way.
#include "adapters/http/detail/request_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace tradpal::http::detail {
namespace {

using Step = RequestReader::Step;
using Phase = RequestReader::Phase;

TEST(RequestReader, HandsOutPipelinedRequestsOneStepAtATime) {
  ServerConfig config;
  RequestReader reader(config);
  reader.append("GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(reader.read(7), Step::kRequest);
  EXPECT_EQ(reader.request().path, "/a");
  EXPECT_EQ(reader.request().query("x"), "1");
  EXPECT_TRUE(reader.frame().keep_alive);
  EXPECT_FALSE(reader.frame().head_only);
  EXPECT_EQ(reader.phase(), Phase::kBetween);
  EXPECT_TRUE(reader.has_input()) << "the second request must wait for the next read()";
  const Request first = reader.take_request();
  EXPECT_EQ(first.method, "GET");

  ASSERT_EQ(reader.read(8), Step::kRequest);
  EXPECT_EQ(reader.request().path, "/b");
  EXPECT_TRUE(reader.frame().head_only);
  EXPECT_FALSE(reader.frame().keep_alive);
  EXPECT_EQ(reader.read(9), Step::kNeedInput);
  EXPECT_FALSE(reader.has_input());
}

TEST(RequestReader, ReportsTheHeaderSectionBeforeTheBodyAndStampsTheStart) {
  ServerConfig config;
  RequestReader reader(config);
  reader.append("POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  ASSERT_EQ(reader.read(100), Step::kHeaders);
  EXPECT_EQ(reader.phase(), Phase::kBody);
  EXPECT_EQ(reader.began_at(), 100u);
  EXPECT_EQ(reader.request().header("Expect"), "100-continue");
  EXPECT_EQ(reader.read(150), Step::kNeedInput);
  reader.append("hel");
  EXPECT_EQ(reader.read(200), Step::kNeedInput);
  EXPECT_EQ(reader.phase(), Phase::kBody);
  reader.append("lo");
  ASSERT_EQ(reader.read(300), Step::kRequest);
  EXPECT_EQ(reader.request().body, "hello");
  EXPECT_EQ(reader.began_at(), 100u) << "the start is the request's first byte, not its last";
}

TEST(RequestReader, ARequestInPiecesIsInTheHeaderPhaseUntilItsSectionEnds) {
  ServerConfig config;
  RequestReader reader(config);
  reader.append("GET / HT");
  EXPECT_EQ(reader.read(5), Step::kNeedInput);
  EXPECT_EQ(reader.phase(), Phase::kHeaders);
  EXPECT_EQ(reader.began_at(), 5u);
  reader.append("TP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(reader.read(6), Step::kRequest);
  EXPECT_EQ(reader.phase(), Phase::kBetween);
}

TEST(RequestReader, EnforcesTheHeaderBudget) {
  ServerConfig config;
  config.max_header_bytes = 128;
  config.max_header_count = 3;
  {
    RequestReader reader(config);
    reader.append("GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ(reader.read(0), Step::kRefused);
    EXPECT_EQ(reader.status(), 414);
  }
  {
    RequestReader reader(config);
    reader.append("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(200, 'v') + "\r\n\r\n");
    ASSERT_EQ(reader.read(0), Step::kRefused);
    EXPECT_EQ(reader.status(), 431);
  }
  {
    RequestReader reader(config);
    reader.append("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    ASSERT_EQ(reader.read(0), Step::kRefused);
    EXPECT_EQ(reader.status(), 431);
  }
}

TEST(RequestReader, RefusesAnAnnouncedBodyOverTheLimitBeforeReadingIt) {
  ServerConfig config;
  config.max_body_bytes = 10;
  RequestReader reader(config);
  reader.append("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n");
  ASSERT_EQ(reader.read(0), Step::kRefused);
  EXPECT_EQ(reader.status(), 413);
  EXPECT_FALSE(reader.has_input());
  reader.append("more bytes");
  EXPECT_EQ(reader.read(0), Step::kNeedInput) << "nothing is read after a refusal";
  EXPECT_FALSE(reader.has_input());
}

TEST(RequestReader, BoundsADecodedChunkedBodyAndRefusesChunkedWhenConfigured) {
  ServerConfig config;
  config.max_body_bytes = 8;
  {
    RequestReader reader(config);
    reader.append("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
    ASSERT_EQ(reader.read(0), Step::kHeaders);
    ASSERT_EQ(reader.read(0), Step::kRefused);
    EXPECT_EQ(reader.status(), 413);
  }
  config.accept_chunked_bodies = false;
  {
    RequestReader reader(config);
    reader.append("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    ASSERT_EQ(reader.read(0), Step::kRefused);
    EXPECT_EQ(reader.status(), 411);
  }
}

TEST(RequestReader, KeepsTrailerFieldsOutOfTheHeaders) {
  ServerConfig config;
  RequestReader reader(config);
  reader.append(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nAuthorization: Bearer t\r\n\r\n");
  ASSERT_EQ(reader.read(0), Step::kHeaders);
  ASSERT_EQ(reader.read(0), Step::kRequest);
  EXPECT_EQ(reader.request().body, "abc");
  EXPECT_FALSE(reader.request().header("Authorization").has_value());
}

TEST(RequestReader, RefusesFramingRfc9112Forbids) {
  ServerConfig config;
  const struct {
    const char* bytes;
    int status;
  } cases[] = {
      {"GET / HTTP/1.1\nHost: h\n\n", 400},
      {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    RequestReader reader(config);
    reader.append(c.bytes);
    Step step = reader.read(0);
    if (step == Step::kHeaders) step = reader.read(0);
    EXPECT_EQ(step, Step::kRefused) << c.bytes;
    EXPECT_EQ(reader.status(), c.status) << c.bytes;
    EXPECT_FALSE(reader.detail().empty());
  }
}

TEST(RequestReader, Http10AndUpgradeEndTheConnection) {
  ServerConfig config;
  {
    RequestReader reader(config);
    reader.append("GET / HTTP/1.0\r\n\r\n");
    ASSERT_EQ(reader.read(0), Step::kRequest);
    EXPECT_TRUE(reader.frame().http10);
    EXPECT_FALSE(reader.frame().keep_alive);
  }
  {
    RequestReader reader(config);
    reader.append("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_EQ(reader.read(0), Step::kRequest);
    EXPECT_TRUE(reader.frame().keep_alive);
  }
  {
    RequestReader reader(config);
    reader.append("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nnot http");
    ASSERT_EQ(reader.read(0), Step::kRequest);
    EXPECT_FALSE(reader.frame().keep_alive);
  }
}

}  // namespace
}  // namespace tradpal::http::detail
