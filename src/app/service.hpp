#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "auth/password_hasher.hpp"
#include "common/error.hpp"
#include "common/logging.hpp"
#include "config/config.hpp"
#include "http/message.hpp"
#include "http/server.hpp"

namespace assistantd::app {

// Everything `serve` runs, wired together from the configuration: keys, storage, the sync
// engine, limits, the APIs and the one request path they share. The transport in front of it
// is the caller's: RunServe puts an http::Server on a TCP port; the HTTP fuzz target feeds the
// same server code bytes in memory (http::ExchangeInMemory).
class Service {
 public:
  struct Options {
    // Argon2 costs of new password hashes; unset: the production defaults. The fuzz target
    // lowers them so that a sign-up does not take most of an iteration.
    std::optional<auth::PasswordSettings> password_hashing;
  };

  // Validates the configuration, opens (and migrates) the storage and builds every part. Fails
  // with one clear error, as `serve` reports it.
  static Result<std::unique_ptr<Service>> Make(const config::ServeConfig& config, Options options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The request path: answers by calling `respond` once, from any thread.
  void Handle(http::Request request, std::function<void(http::Response)> respond);
  // The server's handler: Handle.
  http::RequestHandler Handler();
  // Where handlers run (the server posts requests to it; asynchronous writes complete on it).
  http::WorkerPool& HandlerPool();
  // The server settings the configuration gives: address, threads, body limit, trusted
  // proxies, per-IP connection limit, metrics and the paths that never queue. The global
  // connection limit is left to the caller (it depends on the process's descriptors).
  http::ServerSettings ServerSettings() const;
  // Makes the loggers (one sink for the whole process).
  const LogFactory& Logs() const;

  // Starts the background work (sync workers, the periodic reconciler) and logs that the
  // service listens on `port`, with at most `max_connections`.
  void Start(uint16_t port, size_t max_connections);
  // At the start of a drain: open waits for sync outcomes end now, so their requests answer.
  void BeginShutdown();
  // After the server has drained: queued writes complete, then the background work stops.
  void Stop();

  struct Parts;

 private:
  explicit Service(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace assistantd::app
