// A program outside the build tree using the installed HTTP server core with
// `pkg-config tradpal-events-http` only: serves one route on an ephemeral
// port and asks it over a real socket.
#include <adapters/http/server.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

int main() {
  using namespace tradpal::http;
  uv_loop_t loop;
  uv_loop_init(&loop);
  Router router;
  router.get("/ping", [](Request, Responder r) { r.send(Response::json(200, R"({"pong":true})")); });
  ServerConfig config;
  config.port = 0;
  std::string answer;
  {
    Server server(&loop, config, std::move(router));
    server.listen();
    const std::uint16_t port = server.port();
    std::thread client([&] {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string request = "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        (void)!write(fd, request.data(), request.size());
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<std::size_t>(n));
      }
      close(fd);
      server.post([&server] { server.shutdown(std::chrono::milliseconds(100)); });
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    client.join();
  }
  uv_loop_close(&loop);
  const bool ok = answer.starts_with("HTTP/1.1 200") && answer.find(R"({"pong":true})") != std::string::npos;
  std::printf("installed HTTP server answered: %s\n", answer.substr(0, answer.find('\r')).c_str());
  return ok ? 0 : 1;
}
