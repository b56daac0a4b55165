#pragma once

#include "common/metrics.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// /healthz (process alive), /readyz (database reachable and migrated), /metrics (Prometheus).
class HealthApi {
 public:
  HealthApi(storage::Database& db, const MetricsRegistry& metrics) : db_(db), metrics_(metrics) {}
  void Register(http::Router& router);

 private:
  storage::Database& db_;
  const MetricsRegistry& metrics_;
};

}  // namespace assistantd::api
