// tools/evctl/main.cpp
//
// evctl: a small client of eventd for people at a terminal.
//
//   evctl health | types | stats | metrics
//   evctl publish <event_type> [data-json] [--source S] [--metadata JSON]
//   evctl list [--type T]... [--limit N] [--start ISO] [--end ISO]
//   evctl replay [--type T]... [--start ISO] [--end ISO]
//   evctl tail [--type T]... [--from STREAM_ID]
//
// Talks HTTP/1.0 over a plain socket to EVENT_SERVICE_URL (default
// http://localhost:8011), so every answer ends with the connection and a
// stream arrives as raw Server-Sent Events. Prints the body; exits 0 for a
// 2xx answer, 1 otherwise, 2 for bad usage. EVENT_SERVICE_TOKEN, when set,
// is sent as a bearer token.
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Target {
  std::string host = "localhost";
  std::string port = "8011";
};

int usage() {
  std::fputs(
      "usage: evctl health | types | stats | metrics\n"
      "       evctl publish <event_type> [data-json] [--source S] [--metadata JSON]\n"
      "       evctl list [--type T]... [--limit N] [--start ISO] [--end ISO]\n"
      "       evctl replay [--type T]... [--start ISO] [--end ISO]\n"
      "       evctl tail [--type T]... [--from STREAM_ID]\n"
      "EVENT_SERVICE_URL (default http://localhost:8011), EVENT_SERVICE_TOKEN\n",
      stderr);
  return 2;
}

bool parse_url(std::string_view url, Target& t) {
  if (!url.starts_with("http://")) return false;
  url.remove_prefix(7);
  if (const auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
    t.host = std::string(url.substr(0, colon));
    t.port = std::string(url.substr(colon + 1));
  } else {
    t.host = std::string(url);
    t.port = "80";
  }
  return !t.host.empty() && !t.port.empty();
}

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Sends one request; with `stream` the body is copied to stdout as it
// arrives. Returns the HTTP status (0 when the service cannot be reached).
int request(const Target& t, std::string_view method, const std::string& path, const std::string& body, bool stream) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &res) != 0) {
    std::fprintf(stderr, "evctl: cannot resolve %s\n", t.host.c_str());
    return 0;
  }
  int fd = -1;
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    std::fprintf(stderr, "evctl: cannot connect to %s:%s\n", t.host.c_str(), t.port.c_str());
    return 0;
  }
  std::string req = std::string(method) + " " + path + " HTTP/1.0\r\nHost: " + t.host + "\r\n";
  if (const char* token = std::getenv("EVENT_SERVICE_TOKEN"); token != nullptr && *token != '\0') {
    req += "Authorization: Bearer " + std::string(token) + "\r\n";
  }
  if (method == "POST") {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  for (std::size_t sent = 0; sent < req.size();) {
    const ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return 0;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string in;
  bool head_done = false;
  int status = 0;
  char buf[16384];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
    if (!head_done) {
      const auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      if (in.size() > 12) status = std::atoi(in.c_str() + 9);
      in.erase(0, end + 4);
      head_done = true;
    }
    if (stream && head_done) {
      std::fwrite(in.data(), 1, in.size(), stdout);
      std::fflush(stdout);
      in.clear();
    }
  }
  close(fd);
  if (!stream) {
    std::fwrite(in.data(), 1, in.size(), stdout);
    if (!in.empty() && in.back() != '\n') std::fputc('\n', stdout);
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  Target target;
  const char* url = std::getenv("EVENT_SERVICE_URL");
  if (!parse_url(url != nullptr && *url != '\0' ? url : "http://localhost:8011", target)) {
    std::fprintf(stderr, "evctl: EVENT_SERVICE_URL must look like http://host:port\n");
    return 2;
  }
  const std::string_view cmd = argv[1];
  std::vector<std::string_view> positional;
  std::string query, source, metadata;
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string_view { return i + 1 < argc ? std::string_view(argv[++i]) : std::string_view(); };
    auto add = [&](const char* key, std::string_view v) {
      query += (query.empty() ? "?" : "&") + std::string(key) + "=" + url_encode(v);
    };
    if (a == "--type") add("event_type", value());
    else if (a == "--limit") add("limit", value());
    else if (a == "--start") add("start_time", value());
    else if (a == "--end") add("end_time", value());
    else if (a == "--from") add("from", value());
    else if (a == "--source") source = value();
    else if (a == "--metadata") metadata = value();
    else if (a.starts_with("--")) return usage();
    else positional.push_back(a);
  }
  int status = 0;
  if (cmd == "health") status = request(target, "GET", "/health", {}, false);
  else if (cmd == "types") status = request(target, "GET", "/events/types", {}, false);
  else if (cmd == "stats") status = request(target, "GET", "/events/stats", {}, false);
  else if (cmd == "metrics") status = request(target, "GET", "/metrics", {}, false);
  else if (cmd == "list") status = request(target, "GET", "/events" + query, {}, false);
  else if (cmd == "replay") status = request(target, "POST", "/events/replay" + query, {}, false);
  else if (cmd == "tail") status = request(target, "GET", "/events/stream" + query, {}, true);
  else if (cmd == "publish") {
    if (positional.empty() || positional.size() > 2) return usage();
    std::string body = "{\"event_type\": " + json_string(positional[0]);
    if (positional.size() == 2) body += ", \"data\": " + std::string(positional[1]);
    if (!source.empty()) body += ", \"source\": " + json_string(source);
    if (!metadata.empty()) body += ", \"metadata\": " + metadata;
    body += "}";
    status = request(target, "POST", "/events", body, false);
  } else {
    return usage();
  }
  return status >= 200 && status < 300 ? 0 : 1;
}
