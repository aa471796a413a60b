// client/service_url.h
//
// ServiceUrl: where eventd listens, parsed from EVENT_SERVICE_URL's form
//   http://host[:port][/prefix]
// host is a name, an IPv4 address or a bracketed IPv6 literal ([::1]); the
// port defaults to 80; a prefix (a reverse proxy's mount point) is put in
// front of every path. https is refused with a clear error: the client
// speaks plain HTTP/1.1 only. Value type, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tradpal::client {

struct ServiceUrl {
  std::string host;    // without brackets
  std::string port;    // decimal, 1..65535
  std::string prefix;  // "" or "/mount" (no trailing slash)

  // nullopt and a reason in `why` when `text` is not of the form above.
  [[nodiscard]] static std::optional<ServiceUrl> parse(std::string_view text, std::string* why = nullptr);
  // EVENT_SERVICE_URL when set and not empty, else http://localhost:8011.
  [[nodiscard]] static std::string from_environment();
  // What a client's options leave empty, filled from the environment (the
  // URL as from_environment(), the token from EVENT_SERVICE_TOKEN), then the
  // URL parsed. Throws ClientError(usage) when it is not of the form above.
  [[nodiscard]] static ServiceUrl resolve(std::string& url, std::string& token);

  // host[:port] as a Host header wants it (IPv6 bracketed).
  [[nodiscard]] std::string authority() const;
};

}  // namespace tradpal::client
