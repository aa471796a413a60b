// Fuzz harness: the whole HTTP request path. The input's bytes go over a
// loopback socket to a real http::Server (framing check, parser, router,
// CORS, pipelining, streaming answers) whose handlers validate bodies the
// way eventd does (JsonBody) and publish into a real Bus that a subscriber
// drains. One server for the whole run, on its own loop thread; each input
// is one connection, half-closed after the input, read until the server
// closes it or a short deadline passes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http/server.h"
#include "engine/bus.h"
#include "tools/eventd/body_validation.h"

namespace {

using namespace tradpal;

http::Router make_router(Bus& bus) {
  http::Router router;
  router.get("/health", [](http::Request, http::Responder r) { r.send_json(200, R"({"status":"healthy"})"); });
  router.post("/events", [&bus](http::Request req, http::Responder r) {
    std::vector<eventd::FieldError> errors;
    eventd::JsonBody body;
    if (!body.parse(req.body, errors)) return r.send_json(422, eventd::validation_detail(errors));
    const auto source = body.string_field("source", "api", errors);
    const auto data = body.object_field("data", "{}", errors);
    const auto metadata = body.object_field("metadata", "{}", errors);
    if (!errors.empty()) return r.send_json(422, eventd::validation_detail(errors));
    const PublishStatus s = bus.try_publish(
        {.type = EventType::risk_alert, .source = *source, .data = *data, .metadata = *metadata});
    r.send_json(s == PublishStatus::ok ? 200 : 503, R"({"ok":true})");
  });
  router.get("/events/stream", [](http::Request, http::Responder r) {
    http::EventStream stream = r.start_stream();
    (void)stream.send(R"({"a":1})", "event", "1-0");
    stream.finish();
  });
  return router;
}

class Harness {
 public:
  Harness() {
    uv_loop_init(&loop_);
    http::ServerConfig config;
    config.host = "127.0.0.1";
    config.port = 0;
    config.cors.enabled = true;
    config.idle_timeout = std::chrono::milliseconds(200);
    config.header_timeout = std::chrono::milliseconds(300);
    config.request_timeout = std::chrono::milliseconds(400);
    config.linger_timeout = std::chrono::milliseconds(50);
    config.log = [](std::string_view) {};
    server_ = std::make_unique<http::Server>(&loop_, std::move(config), make_router(bus_));
    server_->listen();
    port_ = server_->port();
    loop_thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    drain_thread_ = std::thread([this] {
      while (!stop_) {
        if (sub_.poll([](const EventView&, bool) {}, 1024) == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  // Lives for the whole process: libFuzzer exits without unwinding.

  void exchange(const std::uint8_t* data, std::size_t size) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return;
    }
    std::size_t off = 0;
    while (off < size) {
      const ssize_t n = ::send(fd, data + off, size - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
    char buf[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      if (::recv(fd, buf, sizeof buf, 0) <= 0) break;
    }
    ::close(fd);
  }

 private:
  uv_loop_t loop_{};
  Bus bus_{BusOptions{.ring = {.capacity = std::size_t{4} << 20}}};
  Subscription sub_ = bus_.subscribe();
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::thread loop_thread_;
  std::thread drain_thread_;
  bool stop_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness* harness = new Harness();
  harness->exchange(data, size);
  return 0;
}
