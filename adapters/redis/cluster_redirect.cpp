#include "adapters/redis/cluster_redirect.h"

#include <charconv>

namespace tradpal::redis {

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect r;
  if (error.starts_with("MOVED ")) {
    r.kind = Redirect::Kind::moved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  const auto [p, ec] = std::from_chars(error.data(), error.data() + space, slot);
  if (ec != std::errc{} || p != error.data() + space || slot >= 16384) return std::nullopt;
  r.slot = static_cast<std::uint16_t>(slot);
  std::string_view where = error.substr(space + 1);
  // The port follows the last ':' (an IPv6 host holds colons of its own).
  const auto colon = where.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  int port = 0;
  const std::string_view port_text = where.substr(colon + 1);
  const auto [q, ec2] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec2 != std::errc{} || q != port_text.data() + port_text.size() || port <= 0 || port > 65535) {
    return std::nullopt;
  }
  std::string_view host = where.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "?") host = {};
  r.node.host = std::string(host);
  r.node.port = port;
  return r;
}

bool is_transient_cluster_error(std::string_view error) noexcept {
  return error.starts_with("CLUSTERDOWN") || error.starts_with("TRYAGAIN") || error.starts_with("MASTERDOWN") ||
         error.starts_with("LOADING");
}

}  // namespace tradpal::redis
