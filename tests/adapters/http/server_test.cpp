// tests/adapters/http/server_test.cpp
//
// The HTTP server over real sockets on 127.0.0.1: framing, ordering, limits,
// timeouts, async and cross-thread answers, streams and shutdown.
#include "adapters/http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "http_test_support.h"

namespace tradpal::http {
namespace {

using namespace test;

// State the handlers share, touched on the loop thread only (tests reach it
// through ServerThread::run).
struct Held {
  std::vector<std::pair<std::string, Responder>> responders;
  std::vector<EventStream> streams;
  int streams_closed = 0;
  std::atomic<int> echoed{0};
};

Router make_router(Held& held) {
  Router router;
  router.get("/hello", [](Request, Responder r) { r.send_json(200, R"({"hello":"world"})"); });
  router.post("/echo", [&held](Request req, Responder r) {
    ++held.echoed;
    Response resp = Response::text(200, req.body);
    resp.set_header("X-Body-Length", std::to_string(req.body.size()));
    r.send(std::move(resp));
  });
  router.get("/query", [](Request req, Responder r) {
    std::string out = "a=";
    for (auto v : req.query_all("a")) out += std::string(v) + ",";
    out += ";b=" + std::string(req.query("b").value_or("<none>"));
    out += ";c=" + std::string(req.query("c").value_or("<none>"));
    out += ";path=" + req.path;
    out += ";x-test=" + std::string(req.header("x-TEST").value_or("<none>"));
    r.send(Response::text(200, out));
  });
  router.get("/hold", [&held](Request req, Responder r) {
    held.responders.emplace_back(std::string(req.query("id").value_or("")), std::move(r));
  });
  router.get("/stream", [&held](Request, Responder r) {
    EventStream s = r.start_stream();
    s.on_close([&held] { ++held.streams_closed; });
    (void)s.comment("hello");
    held.streams.push_back(std::move(s));
  });
  router.get("/throw", [](Request, Responder) { throw std::runtime_error("handler bug"); });
  router.get("/drop", [](Request, Responder) {});
  return router;
}

// Completes the held responder whose id is `id` with body `id`.
void complete(ServerThread& st, Held& held, std::string id) {
  st.run([&held, id] {
    for (auto& [key, r] : held.responders) {
      if (key == id) r.send(Response::text(200, key));
    }
  });
}

std::size_t held_count(ServerThread& st, Held& held) {
  return st.run([&held] { return held.responders.size(); });
}

TEST(HttpServer, KeepsTheConnectionAliveAcrossRequests) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.request(get("/hello"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"hello":"world"})");
    EXPECT_EQ(r->header("Content-Type"), "application/json");
    EXPECT_TRUE(r->keep_alive);
  }
  EXPECT_EQ(st.stats().connections_accepted, 1u);
}

TEST(HttpServer, AnswersPipelinedRequestsInOrderWhenHandlersFinishOutOfOrder) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  ASSERT_TRUE(c.send(get("/hold?id=1") + get("/hold?id=2") + get("/hello") + get("/hold?id=3")));
  ASSERT_TRUE(wait_for([&] { return held_count(st, held) == 3; }));
  complete(st, held, "3");
  complete(st, held, "2");
  // The first answer is still owed, so nothing may arrive yet.
  EXPECT_FALSE(c.read_response(200ms));
  complete(st, held, "1");
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << "answer " << i;
    bodies.push_back(r->body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"1", "2", R"({"hello":"world"})", "3"}));
}

TEST(HttpServer, StopsReadingAtThePipelineLimitAndResumesAsAnswersGoOut) {
  Held held;
  ServerConfig config;
  config.max_pipelined = 2;
  ServerThread st(make_router(held), config);
  TestClient c(st.port());
  std::string burst;
  for (int i = 1; i <= 5; ++i) burst += get("/hold?id=" + std::to_string(i));
  ASSERT_TRUE(c.send(burst));
  ASSERT_TRUE(wait_for([&] { return held_count(st, held) == 2; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(held_count(st, held), 2u) << "more requests dispatched than the pipeline limit";
  for (std::size_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(wait_for([&] { return held_count(st, held) >= i; })) << "request " << i << " never dispatched";
    complete(st, held, std::to_string(i));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

// Requests already read when the client stops taking answers are not all
// answered into memory: past max_unsent_bytes they wait unparsed, and are
// taken up again (in order) once the client reads.
TEST(HttpServer, RequestsReadInOneBurstStopAtTheUnsentBoundAndResume) {
  Router router;
  std::atomic<int> answered{0};
  const std::string big(256 * 1024, 'b');
  router.get("/big", [&](Request req, Responder r) {
    ++answered;
    r.send(Response::text(200, std::string(req.query("i").value_or("")) + big));
  });
  ServerConfig config;
  config.max_unsent_bytes = 64 * 1024;
  ServerThread st(std::move(router), config);
  TestClient c(st.port(), 4096);
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += get("/big?i=" + std::to_string(i) + ";");
  ASSERT_TRUE(c.send(burst));
  std::this_thread::sleep_for(300ms);
  // The kernel's socket buffers take a few megabytes of answers; the rest
  // (about 50 MB without the bound) must wait.
  EXPECT_LT(answered.load(), 60) << "answers made for a client that reads nothing";
  for (int i = 0; i < 200; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << "answer " << i << " never came";
    ASSERT_EQ(r->body.substr(0, r->body.find(';') + 1), std::to_string(i) + ";");
  }
  EXPECT_EQ(answered.load(), 200);
}

TEST(HttpServer, DecodesChunkedRequestBodies) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  auto r = c.request(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  // The connection carries on after a chunked request.
  auto again = c.request(get("/hello"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

// Syntax a front proxy could read otherwise than we do (RFC 9112): 400 and
// close, and the echo handler never runs for the request hidden inside.
TEST(HttpServer, RefusesAmbiguousFramingWith400AndCloses) {
  Held held;
  ServerThread st(make_router(held));
  const std::vector<std::pair<std::string, int>> cases = {
      {"GET /hello HTTP/1.1\nHost: t\n\n", 400},
      {"GET /hello HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400},
      {"GET /hello HTTP/1.1\r\nHost : t\r\n\r\n", 400},
      {"GET /hello HTTP/1.1\r\n\r\n", 400},
      {"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET /h\xc3\xa9llo HTTP/1.1\r\nHost: t\r\n\r\n", 400},  // RFC 9112 3: an ASCII target
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhelloGET /hello HTTP/1.1\r\nHost: t\r\n\r\n0\r\n\r\n", 400},
  };
  for (const auto& [wire, status] : cases) {
    TestClient c(st.port());
    auto r = c.request(wire);
    ASSERT_TRUE(r) << wire;
    EXPECT_EQ(r->status, status) << wire;
    EXPECT_TRUE(c.wait_closed()) << wire;
  }
  EXPECT_EQ(held.echoed.load(), 0) << "a refused request reached a handler";
}

TEST(HttpServer, RefusesChunkedBodiesWith411WhenConfigured) {
  Held held;
  ServerConfig config;
  config.accept_chunked_bodies = false;
  ServerThread st(make_router(held), config);
  TestClient c(st.port());
  auto r = c.request("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 411);
  EXPECT_TRUE(c.wait_closed());
}

TEST(HttpServer, Answers413ForAnnouncedOrChunkedBodiesOverTheLimit) {
  Held held;
  ServerConfig config;
  config.max_body_bytes = 1024;
  ServerThread st(make_router(held), config);
  {
    TestClient c(st.port());
    auto r = c.request(post("/echo", std::string(1025, 'x')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->body, R"({"detail":"Request body too large"})");
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.wait_closed());
  }
  {
    TestClient c(st.port());
    std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) req += "200\r\n" + std::string(512, 'y') + "\r\n";
    req += "0\r\n\r\n";
    auto r = c.request(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {
    TestClient c(st.port());
    auto r = c.request(post("/echo", std::string(1024, 'z')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 1024u);
  }
}

TEST(HttpServer, Answers431ForOversizedHeaders) {
  Held held;
  ServerConfig config;
  config.max_header_bytes = 4096;
  ServerThread st(make_router(held), config);
  TestClient c(st.port());
  auto r = c.request(get("/hello", "X-Big: " + std::string(5000, 'a') + "\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(st.stats().bad_requests, 1u);
}

TEST(HttpServer, Answers400AndClosesOnGarbage) {
  Held held;
  ServerThread st(make_router(held));
  for (std::string garbage : {"GARBAGE\r\n\r\n", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                              "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n", "GET /hello HTTP/9.9\r\n\r\n"}) {
    TestClient c(st.port());
    auto r = c.request(garbage);
    ASSERT_TRUE(r) << garbage;
    EXPECT_EQ(r->status, 400) << garbage;
    EXPECT_TRUE(r->body.starts_with(R"({"detail":")")) << r->body;
    EXPECT_TRUE(c.wait_closed()) << garbage;
  }
}

TEST(HttpServer, ClosesIdleConnections) {
  Held held;
  ServerConfig config;
  config.idle_timeout = 150ms;
  ServerThread st(make_router(held), config);
  TestClient c(st.port());
  ASSERT_TRUE(c.request(get("/hello")));
  const auto start = Clock::now();
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_GE(Clock::now() - start, 100ms);
  EXPECT_TRUE(c.buffer().empty()) << "an idle close between requests sends nothing";
  EXPECT_EQ(st.stats().timeouts, 1u);
}

// Sends piece(i) every 50 ms until the server answers; that answer must be
// 408 within 2 s, and the connection closed after it.
template <typename Piece>
void expect_408_while_dripping(TestClient& c, Piece piece) {
  const auto start = Clock::now();
  std::optional<ClientResponse> r;
  for (int i = 0; i < 60 && !r; ++i) {
    if (!c.send(piece(i))) break;
    r = c.read_response(50ms);
  }
  if (!r) r = c.read_response(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(c.wait_closed());
}

TEST(HttpServer, HeaderTimeoutStopsASlowLorisClient) {
  Held held;
  ServerConfig config;
  config.header_timeout = 300ms;
  config.idle_timeout = 10s;
  ServerThread st(make_router(held), config);
  TestClient c(st.port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\n"));
  // One header line every 50 ms keeps the idle timer fed but not the header timer.
  expect_408_while_dripping(c, [](int i) { return "X-Drip-" + std::to_string(i) + ": x\r\n"; });
}

TEST(HttpServer, RequestTimeoutStopsABodyTrickledAByteAtATime) {
  Held held;
  ServerConfig config;
  config.request_timeout = 400ms;
  config.idle_timeout = 10s;
  ServerThread st(make_router(held), config);
  TestClient c(st.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"));
  // One body byte every 50 ms keeps the idle timer fed but not the request's own.
  expect_408_while_dripping(c, [](int) { return std::string("x"); });
}

TEST(HttpServer, AnswersConnectionsOverTheLimitWith503) {
  Held held;
  ServerConfig config;
  config.max_connections = 2;
  ServerThread st(make_router(held), config);
  auto a = std::make_unique<TestClient>(st.port());
  TestClient b(st.port());
  ASSERT_TRUE(a->request(get("/hello")));
  ASSERT_TRUE(b.request(get("/hello")));
  {
    TestClient extra(st.port());
    auto r = extra.request(get("/hello"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->body, R"({"detail":"Too many connections"})");
    EXPECT_TRUE(extra.wait_closed());
  }
  a.reset();
  ASSERT_TRUE(wait_for([&] { return st.stats().connections_open == 1; }));
  TestClient next(st.port());
  auto r = next.request(get("/hello"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(st.stats().connections_rejected, 1u);
}

TEST(HttpServer, HonoursConnectionClose) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  auto r = c.request(get("/hello", "Connection: close\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.wait_closed());
}

TEST(HttpServer, ServesHttp10WithAndWithoutKeepAlive) {
  Held held;
  ServerThread st(make_router(held));
  {
    TestClient c(st.port());
    auto r = c.request("GET /hello HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->http_minor, 0u);
    EXPECT_EQ(r->body, R"({"hello":"world"})");
    EXPECT_TRUE(c.wait_closed());
  }
  {
    TestClient c(st.port());
    auto r = c.request("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Connection"), "keep-alive");
    auto again = c.request("GET /hello HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    EXPECT_TRUE(c.wait_closed());
  }
}

TEST(HttpServer, AnswersHeadWithoutABody) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  auto r = c.request("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Length"), "17");
  auto next = c.request(get("/hello"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, R"({"hello":"world"})");
}

TEST(HttpServer, Answers404And405AsFastApiDoes) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  auto missing = c.request(get("/nope"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"detail":"Not Found"})");
  auto wrong = c.request(post("/hello", "{}"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->body, R"({"detail":"Method Not Allowed"})");
  EXPECT_EQ(wrong->header("Allow"), "GET");
  EXPECT_TRUE(wrong->keep_alive);
}

TEST(HttpServer, DecodesPathQueryAndHeaders) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  auto r = c.request(get("/qu%65ry?a=1&b=x%20y+z&a=%E2%82%AC&c", "X-Test: yes\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "a=1,\xE2\x82\xAC,;b=x y z;c=;path=/query;x-test=yes");
}

TEST(HttpServer, AnswersCorsPreflightsAndMarksCrossOriginAnswers) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  auto pre = c.request(
      "OPTIONS /events HTTP/1.1\r\nHost: t\r\nOrigin: http://ui.example\r\n"
      "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type, authorization\r\n\r\n");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 200);
  EXPECT_EQ(pre->body, "OK");
  EXPECT_EQ(pre->header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(pre->header("Access-Control-Allow-Methods"), "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
  EXPECT_EQ(pre->header("Access-Control-Allow-Headers"), "content-type, authorization");
  EXPECT_EQ(pre->header("Access-Control-Max-Age"), "600");
  // Once each: a browser refuses a preflight with two Allow-Origin values.
  for (const char* field : {"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Max-Age",
                            "Access-Control-Allow-Headers", "Vary", "Access-Control-Allow-Credentials"}) {
    EXPECT_LE(pre->header_count(field), 1u) << field;
  }

  auto cross = c.request(get("/hello", "Origin: http://ui.example\r\n"));
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->header("Access-Control-Allow-Origin"), "*");
  auto cross404 = c.request(get("/nope", "Origin: http://ui.example\r\n"));
  ASSERT_TRUE(cross404);
  EXPECT_EQ(cross404->header("Access-Control-Allow-Origin"), "*");
  auto same = c.request(get("/hello"));
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->header("Access-Control-Allow-Origin"));
  // OPTIONS without the preflight headers is an ordinary request.
  auto plain = c.request("OPTIONS /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 405);
}

TEST(HttpServer, StreamsServerSentEventsInChunks) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  ASSERT_TRUE(c.send(get("/stream")));
  ASSERT_TRUE(c.read_until_contains(": hello\n\n"));
  EXPECT_NE(c.buffer().find("HTTP/1.1 200 OK\r\n"), std::string::npos);
  EXPECT_NE(c.buffer().find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(c.buffer().find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  const auto status = st.run([&held] { return held.streams.at(0).send("{\"n\":1}\nline2", "tick", "7-0"); });
  EXPECT_EQ(status, StreamWrite::kQueued);
  EXPECT_TRUE(c.read_until_contains("id: 7-0\nevent: tick\ndata: {\"n\":1}\ndata: line2\n\n"));
  // Finishing ends the chunked body; the connection then serves more requests.
  st.run([&held] { held.streams.at(0).finish(); });
  EXPECT_TRUE(c.read_until_contains("\r\n0\r\n\r\n"));
  EXPECT_EQ(st.run([&held] { return held.streams_closed; }), 0) << "on_close never runs after finish()";
  ASSERT_TRUE(c.send(get("/hello")));
  EXPECT_TRUE(c.read_until_contains(R"({"hello":"world"})"));
}

TEST(HttpServer, TellsTheStreamOwnerWhenTheClientGoes) {
  Held held;
  ServerThread st(make_router(held));
  {
    TestClient c(st.port());
    ASSERT_TRUE(c.send(get("/stream")));
    ASSERT_TRUE(c.read_until_contains(": hello\n\n"));
    EXPECT_TRUE(st.run([&held] { return held.streams.at(0).open(); }));
  }
  ASSERT_TRUE(wait_for([&] { return st.run([&held] { return held.streams_closed; }) == 1; }));
  EXPECT_EQ(st.run([&held] { return held.streams.at(0).send("late"); }), StreamWrite::kClientGone);
  EXPECT_FALSE(st.run([&held] { return held.streams.at(0).open(); }));
  EXPECT_EQ(st.stats().streams_open, 0u);
}

TEST(HttpServer, StreamReportsOverLimitWhenTheClientDoesNotRead) {
  Held held;
  ServerConfig config;
  config.max_stream_unsent_bytes = 64 * 1024;
  ServerThread st(make_router(held), config);
  TestClient c(st.port(), 4096);
  ASSERT_TRUE(c.send(get("/stream")));
  ASSERT_TRUE(c.read_until_contains(": hello\n\n"));
  const std::string event(1024, 'e');
  // The socket buffers absorb some megabytes first; then the stream must push back.
  const int written = st.run([&held, &event] {
    for (int i = 0; i < 200000; ++i) {
      if (held.streams.at(0).send(event) == StreamWrite::kOverLimit) return i;
    }
    return -1;
  });
  EXPECT_GT(written, 0);
  EXPECT_LE(st.run([&held] { return held.streams.at(0).unsent_bytes(); }), 64u * 1024);
  EXPECT_TRUE(st.run([&held] { return held.streams.at(0).open(); })) << "over the limit drops, it does not close";
}

TEST(HttpServer, CompletesAnswersFromAnotherThread) {
  Held held;
  Router router;
  Server* server = nullptr;
  std::vector<std::thread> workers;
  router.get("/work", [&](Request req, Responder r) {
    workers.emplace_back([server, r = std::move(r), body = std::string(req.query("v").value_or(""))]() mutable {
      std::this_thread::sleep_for(20ms);
      server->post([r = std::move(r), body]() mutable { r.send(Response::text(200, "done " + body)); });
    });
  });
  ServerThread st(std::move(router));
  server = &st.server();
  TestClient c(st.port());
  ASSERT_TRUE(c.send(get("/work?v=1") + get("/work?v=2")));
  auto first = c.read_response();
  auto second = c.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "done 1");
  EXPECT_EQ(second->body, "done 2");
  st.run([&] {
    for (auto& w : workers) w.join();
  });
}

TEST(HttpServer, HandlerExceptionsAndDroppedRespondersAnswer500) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  auto thrown = c.request(get("/throw"));
  ASSERT_TRUE(thrown);
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(thrown->body, R"({"detail":"Internal Server Error"})");
  auto dropped = c.request(get("/drop"));
  ASSERT_TRUE(dropped);
  EXPECT_EQ(dropped->status, 500);
  auto after = c.request(get("/hello"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  const ServerStats s = st.stats();
  EXPECT_EQ(s.handler_exceptions, 1u);
  EXPECT_EQ(s.responders_dropped, 2u);
}

TEST(HttpServer, ResponderCompletedAfterTheClientLeftIsANoOp) {
  Held held;
  ServerThread st(make_router(held));
  {
    TestClient c(st.port());
    ASSERT_TRUE(c.send(get("/hold?id=gone")));
    ASSERT_TRUE(wait_for([&] { return held_count(st, held) == 1; }));
  }
  ASSERT_TRUE(wait_for([&] { return st.stats().connections_open == 0; }));
  EXPECT_FALSE(st.run([&held] { return held.responders.at(0).second.connected(); }));
  complete(st, held, "gone");
  EXPECT_FALSE(st.run([&held] { return held.responders.at(0).second.pending(); }));
  // The server is unharmed.
  TestClient c(st.port());
  auto r = c.request(get("/hello"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, CountsRequestsByRouteAndStatus) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  ASSERT_TRUE(c.request(get("/hello")));
  ASSERT_TRUE(c.request(get("/hello")));
  ASSERT_TRUE(c.request(get("/nope")));
  ASSERT_TRUE(c.request(post("/hello", "")));
  st.run([&] {
    const RequestCounters& counters = st.server().request_counters();
    EXPECT_EQ(counters.get("GET", "/hello", 200), 2u);
    EXPECT_EQ(counters.get("GET", kUnmatchedRoute, 404), 1u);
    EXPECT_EQ(counters.get("POST", kUnmatchedRoute, 405), 1u);
    std::uint64_t total = 0;
    counters.for_each([&](std::string_view, std::string_view, int, std::uint64_t n) { total += n; });
    EXPECT_EQ(total, 4u);
  });
}

TEST(HttpServer, GracefulShutdownFinishesTheRequestInFlight) {
  Held held;
  ServerThread st(make_router(held));
  TestClient busy(st.port());
  TestClient idle(st.port());
  ASSERT_TRUE(idle.request(get("/hello")));
  ASSERT_TRUE(busy.send(get("/hold?id=last")));
  ASSERT_TRUE(wait_for([&] { return held_count(st, held) == 1; }));
  auto closed = st.begin_shutdown(5s);
  EXPECT_TRUE(idle.wait_closed()) << "idle connections close at once";
  EXPECT_NE(closed.wait_for(100ms), std::future_status::ready) << "a request is still in flight";
  complete(st, held, "last");
  auto r = busy.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "last");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(busy.wait_closed());
  ASSERT_EQ(closed.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(st.join(5s));
  EXPECT_THROW(TestClient late(st.port()), std::runtime_error) << "no longer listening";
}

TEST(HttpServer, ShutdownGraceEndsStuckRequestsAndStreams) {
  Held held;
  ServerThread st(make_router(held));
  TestClient stuck(st.port());
  TestClient streaming(st.port());
  ASSERT_TRUE(stuck.send(get("/hold?id=never")));
  ASSERT_TRUE(streaming.send(get("/stream")));
  ASSERT_TRUE(streaming.read_until_contains(": hello\n\n"));
  ASSERT_TRUE(wait_for([&] { return held_count(st, held) == 1; }));
  const auto start = Clock::now();
  auto closed = st.begin_shutdown(200ms);
  EXPECT_TRUE(streaming.read_until_contains("\r\n0\r\n\r\n")) << "streams are ended at shutdown";
  EXPECT_TRUE(streaming.wait_closed());
  EXPECT_TRUE(stuck.wait_closed());
  ASSERT_EQ(closed.wait_for(5s), std::future_status::ready);
  EXPECT_GE(Clock::now() - start, 150ms);
  EXPECT_TRUE(st.join(5s));
  EXPECT_EQ(held.streams_closed, 1);
  // A responder outliving its server is still harmless.
  held.responders.at(0).second.send(Response::text(200, "too late"));
  EXPECT_FALSE(held.responders.at(0).second.pending());
}

}  // namespace
}  // namespace tradpal::http

namespace tradpal::http {
namespace {

using namespace test;

TEST(HttpServer, SendsContinueBeforeReadingAnExpectedBody) {
  Held held;
  ServerThread st(make_router(held));
  TestClient c(st.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(c.read_until_contains("HTTP/1.1 100 Continue\r\n\r\n"));
  ASSERT_TRUE(c.send("hello"));
  ASSERT_TRUE(c.read_until_contains("\r\n\r\nhello"));
  EXPECT_NE(c.buffer().find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST(HttpServer, ListenErrorsNameTheAddressAndTheServerStillClosesCleanly) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    ServerConfig first_config;
    first_config.host = "localhost";
    first_config.port = 0;
    first_config.log = [](std::string_view) {};
    Server first(&loop, first_config, Router());
    first.listen();
    ASSERT_NE(first.port(), 0);

    ServerConfig clash = first_config;
    clash.port = first.port();
    Server second(&loop, clash, Router());
    try {
      second.listen();
      ADD_FAILURE() << "binding a used port must throw";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("localhost:" + std::to_string(first.port())), std::string::npos) << e.what();
    }

    ServerConfig bad = first_config;
    bad.host = "not-an-address";
    Server third(&loop, bad, Router());
    EXPECT_THROW(third.listen(), std::runtime_error);

    ServerConfig v6 = first_config;
    v6.host = "[::1]";
    Server fourth(&loop, v6, Router());
    try {
      fourth.listen();  // hosts without IPv6 loopback may refuse; either way no leak
    } catch (const std::runtime_error&) {
    }
    // The destructors close every handle while the loop is not running.
  }
  EXPECT_EQ(uv_loop_close(&loop), 0) << "a handle was left open";
}

}  // namespace
}  // namespace tradpal::http
