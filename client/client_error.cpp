#include "client/client_error.h"

namespace tradpal::client {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return "usage";
    case ErrorKind::rejected: return "rejected";
    case ErrorKind::server: return "server";
    case ErrorKind::unreachable: return "unreachable";
    case ErrorKind::timed_out: return "timed_out";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::closed: return "closed";
  }
  return "unknown";
}

ClientError::ClientError(ErrorKind kind, std::string message, int status, std::string detail, bool request_sent)
    : std::runtime_error(std::move(message)),
      kind_(kind),
      status_(status),
      detail_(std::move(detail)),
      request_sent_(request_sent) {}

}  // namespace tradpal::client
