// adapters/http/server_config.h
//
// ServerConfig: where the HTTP server listens and every limit it enforces,
// each with the answer a client gets when it hits it. Read once by the Server
// constructor; a plain value any thread may build.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "adapters/http/cors.h"

namespace tradpal::http {

struct ServerConfig {
  // An IPv4 or IPv6 literal ("::1" or "[::1]") or "localhost" (127.0.0.1).
  std::string host = "127.0.0.1";
  // 0 binds an ephemeral port; Server::port() tells which.
  std::uint16_t port = 8011;
  int listen_backlog = 511;

  // Connections beyond this are accepted, answered 503 {"detail": "Too many
  // connections"} with Connection: close, and closed; they never reach a
  // handler. Refusing at accept() instead would leave them in the kernel's
  // backlog, where a client sees a hang rather than an answer. listen()
  // raises the process's descriptor limit toward its hard limit if it is
  // short of this (plus 128 for the rest), and lowers this, with a log line,
  // if even that is short: else accept() would fail and libuv drop the
  // connections beyond the limit unanswered.
  std::size_t max_connections = 1024;

  // Request line plus header fields, in bytes: beyond it 431 (414 when the
  // request-target alone is too long), then close.
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_header_count = 100;  // 431 beyond it
  // Decoded body: beyond it 413, then close (also when Content-Length
  // announces more, before any body byte is read).
  std::size_t max_body_bytes = 1024 * 1024;
  // Chunked request bodies are decoded; when false they are refused with 411.
  bool accept_chunked_bodies = true;

  // Requests of one connection waiting for their answers. When full, the
  // server stops reading that connection (TCP back-pressure) until the
  // oldest answer has been written; nothing is refused.
  std::size_t max_pipelined = 16;

  // Answers of one connection its client has not read yet. Past it the
  // server stops reading that connection's requests (TCP back-pressure to a
  // client that sends and never reads) until the client has read some.
  std::size_t max_unsent_bytes = 4 * 1024 * 1024;

  // Output a streaming response (SSE) may hold unsent before
  // EventStream::write reports kOverLimit instead of queueing more.
  std::size_t max_stream_unsent_bytes = 1024 * 1024;

  // Without any byte received while the connection waits for a request (or
  // for the rest of a body): closed silently between requests, 408 within
  // one.
  std::chrono::milliseconds idle_timeout{5000};
  // From the first byte of a request to the end of its headers, however
  // slowly it trickles in: 408, then close. This is what stops slow-loris.
  std::chrono::milliseconds header_timeout{10000};
  // From the first byte of a request to its last, body included, however
  // it trickles in: 408, then close. Stops bodies sent a byte at a time,
  // which keep the idle timer fed forever.
  std::chrono::milliseconds request_timeout{30000};
  // After the last answer of a closing connection, how long unread client
  // bytes are drained so the kernel does not reset the connection before the
  // client has read that answer.
  std::chrono::milliseconds linger_timeout{1000};

  CorsPolicy cors;

  // One line per event of note (listen, handler exceptions, accept errors),
  // never per request. Default: stderr.
  std::function<void(std::string_view)> log;
};

}  // namespace tradpal::http
