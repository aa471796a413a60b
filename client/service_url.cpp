#include "client/service_url.h"

#include "client/client_error.h"

#include <charconv>
#include <cstdlib>

namespace tradpal::client {

namespace {

bool fail(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return false;
}

bool valid_port(std::string_view p) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  return ec == std::errc() && end == p.data() + p.size() && v >= 1 && v <= 65535;
}

}  // namespace

std::optional<ServiceUrl> ServiceUrl::parse(std::string_view text, std::string* why) {
  ServiceUrl u;
  if (text.starts_with("https://")) {
    fail(why, "https is not supported (the client speaks plain HTTP/1.1): " + std::string(text));
    return std::nullopt;
  }
  if (!text.starts_with("http://")) {
    fail(why, "a service URL starts with http:// (e.g. http://localhost:8011), not: " + std::string(text));
    return std::nullopt;
  }
  std::string_view rest = text.substr(7);
  std::string_view authority = rest;
  if (const auto slash = rest.find_first_of("/?#"); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    std::string_view path = rest.substr(slash);
    if (path.front() != '/') {
      fail(why, "a service URL takes no query or fragment: " + std::string(text));
      return std::nullopt;
    }
    if (path.find_first_of("?#") != std::string_view::npos) {
      fail(why, "a service URL takes no query or fragment: " + std::string(text));
      return std::nullopt;
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    u.prefix = std::string(path);
  }
  if (authority.find('@') != std::string_view::npos) {
    fail(why, "a service URL takes no user info (use EVENT_SERVICE_TOKEN): " + std::string(text));
    return std::nullopt;
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) {
      fail(why, "an IPv6 host is written [address]: " + std::string(text));
      return std::nullopt;
    }
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        fail(why, "unexpected text after the IPv6 host: " + std::string(text));
        return std::nullopt;
      }
      port = after.substr(1);
      if (port.empty()) port = "80";
    } else {
      port = "80";
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':') != colon) {
        fail(why, "an IPv6 host must be bracketed, as in http://[::1]:8011: " + std::string(text));
        return std::nullopt;
      }
      u.host = std::string(authority.substr(0, colon));
      port = authority.substr(colon + 1);
      if (port.empty()) port = "80";
    } else {
      u.host = std::string(authority);
      port = "80";
    }
  }
  if (u.host.empty()) {
    fail(why, "the service URL has no host: " + std::string(text));
    return std::nullopt;
  }
  if (!valid_port(port)) {
    fail(why, "the service URL's port is not a number from 1 to 65535: " + std::string(text));
    return std::nullopt;
  }
  u.port = std::string(port);
  return u;
}

std::string ServiceUrl::from_environment() {
  const char* v = std::getenv("EVENT_SERVICE_URL");
  return v != nullptr && *v != '\0' ? std::string(v) : std::string("http://localhost:8011");
}

ServiceUrl ServiceUrl::resolve(std::string& url, std::string& token) {
  if (url.empty()) url = from_environment();
  if (token.empty()) {
    if (const char* t = std::getenv("EVENT_SERVICE_TOKEN"); t != nullptr) token = t;
  }
  std::string why;
  auto parsed = parse(url, &why);
  if (!parsed) throw ClientError(ErrorKind::usage, why);
  return *parsed;
}

std::string ServiceUrl::authority() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == "80" ? h : h + ":" + port;
}

}  // namespace tradpal::client
