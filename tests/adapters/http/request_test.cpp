// tests/adapters/http/request_test.cpp
//
// The pure pieces of the HTTP server: decoding, header lookup, JSON errors,
// SSE framing, routing and CORS answers.
#include "adapters/http/request.h"

#include <gtest/gtest.h>

#include "adapters/http/cors.h"
#include "adapters/http/event_stream.h"
#include "adapters/http/response.h"
#include "adapters/http/router.h"

namespace tradpal::http {
namespace {

TEST(HttpRequest, PercentDecodingKeepsMalformedEscapes) {
  EXPECT_EQ(percent_decode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("100%", true), "100%");
  EXPECT_EQ(percent_decode("%zz%4", true), "%zz%4");
  EXPECT_EQ(percent_decode("%e2%82%ac", true), "\xE2\x82\xAC");
}

TEST(HttpRequest, QueryKeepsRepeatedKeysAndAnswersTheLastForScalars) {
  Request r;
  parse_query("event_type=a&limit=5&event_type=b&&flag&x=1%3D2", r.query_params);
  EXPECT_EQ(r.query_all("event_type"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(r.query("event_type"), "b");
  EXPECT_EQ(r.query("flag"), "");
  EXPECT_EQ(r.query("x"), "1=2");
  EXPECT_FALSE(r.query("missing"));
}

TEST(HttpRequest, HeaderLookupIgnoresCase) {
  Request r;
  r.headers = {{"Content-Type", "application/json"}, {"X-Multi", "a"}, {"x-multi", "b"}};
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("X-MULTI"), "a");
  EXPECT_FALSE(r.header("Accept"));
  HeaderList h = {{"Connection", "keep-alive, Upgrade"}};
  EXPECT_TRUE(header_has_token(h, "connection", "upgrade"));
  EXPECT_FALSE(header_has_token(h, "connection", "close"));
}

TEST(HttpResponse, ErrorsHaveFastApiShapeWithEscapedDetail) {
  Response r = Response::error(400, "Invalid event type: 'x\"y' is not a valid EventType\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"detail":"Invalid event type: 'x\"y' is not a valid EventType\n"})");
  EXPECT_EQ(find_header(r.headers, "content-type"), "application/json");
  EXPECT_EQ(json_quote(std::string_view("\x01", 1)), "\"\\u0001\"");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(799), "Unknown");
}

TEST(HttpEventStream, FormatsMultiLineDataAsSeveralDataFields) {
  EXPECT_EQ(format_sse_event("x"), "data: x\n\n");
  EXPECT_EQ(format_sse_event("a\nb", "t", "1-0"), "id: 1-0\nevent: t\ndata: a\ndata: b\n\n");
}

TEST(HttpRouter, MatchesExactPathsAndTellsNotFoundFromWrongMethod) {
  Router router;
  router.get("/a", [](Request, Responder) {}).post("/a", [](Request, Responder) {});
  EXPECT_NE(router.match("GET", "/a").handler, nullptr);
  EXPECT_NE(router.match("HEAD", "/a").handler, nullptr);
  EXPECT_EQ(router.match("GET", "/a/").status, 404);
  const auto m = router.match("DELETE", "/a");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, POST");
  EXPECT_THROW(router.get("/a", [](Request, Responder) {}), std::invalid_argument);
  EXPECT_THROW(router.get("a", [](Request, Responder) {}), std::invalid_argument);
}

TEST(HttpCors, CredentialsEchoTheOrigin) {
  CorsPolicy policy;
  policy.allow_credentials = true;
  HeaderList request = {{"Origin", "http://ui"}, {"Access-Control-Request-Method", "GET"}};
  ASSERT_TRUE(is_cors_preflight(policy, "OPTIONS", request));
  Response pre = cors_preflight_response(policy, request);
  EXPECT_EQ(find_header(pre.headers, "Access-Control-Allow-Origin"), "http://ui");
  EXPECT_EQ(find_header(pre.headers, "Vary"), "Origin");
  EXPECT_EQ(find_header(pre.headers, "Access-Control-Allow-Credentials"), "true");
  HeaderList simple;
  add_cors_headers(policy, "http://ui", false, simple);
  EXPECT_EQ(find_header(simple, "Access-Control-Allow-Origin"), "*");
  HeaderList none;
  add_cors_headers(policy, "", false, none);
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace tradpal::http
