// The process metrics Prometheus' client libraries export under the same names (CPU time,
// memory, file descriptors, threads, start time), read from /proc/self when /metrics is
// rendered, and assistantd_build_info{version} (1), which tells the instances of a canary
// release apart.
#pragma once

#include <string>

#include "common/metrics.hpp"

namespace assistantd {

void DeclareProcessMetrics(MetricsRegistry& metrics, const std::string& version);

}  // namespace assistantd
