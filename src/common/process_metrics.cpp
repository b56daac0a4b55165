#include "common/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace assistantd {
namespace {

// The fields of /proc/self/stat after the command name, which may contain spaces and is
// closed by the last ')'. Index 0 is field 3 (state).
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double StatField(int number) {  // number as in proc(5), from 3
  const auto fields = StatFields();
  const size_t i = static_cast<size_t>(number - 3);
  return i < fields.size() ? std::strtod(fields[i].c_str(), nullptr) : std::nan("");
}

}  // namespace

void DeclareProcessMetrics(MetricsRegistry& metrics, const std::string& version) {
  metrics.DeclareGauge("assistantd_build_info", "The running build (always 1)", [] { return 1.0; },
                       {{"version", version}});
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  metrics.DeclareReadCounter("process_cpu_seconds_total", "User and system CPU time spent", [] {
    return (StatField(14) + StatField(15)) / ticks;  // utime + stime
  });
  metrics.DeclareGauge("process_resident_memory_bytes", "Resident memory size",
                       [] { return StatField(24) * page; });
  metrics.DeclareGauge("process_virtual_memory_bytes", "Virtual memory size",
                       [] { return StatField(23); });
  // When the metrics were declared, at start: /proc/stat (boot time) may be hidden from a
  // hardened service (ProcSubset=pid).
  const double started =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  metrics.DeclareGauge("process_start_time_seconds", "Start time of the process (Unix time)",
                       [started] { return started; });
  metrics.DeclareGauge("process_threads", "Threads of the process", [] { return StatField(20); });
  metrics.DeclareGauge("process_open_fds", "Open file descriptors", [] {
    std::error_code ec;
    double n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n;
    }
    return ec ? std::nan("") : n - 1;  // less the directory being read
  });
  metrics.DeclareGauge("process_max_fds", "Limit on open file descriptors", [] {
    rlimit r{};
    return ::getrlimit(RLIMIT_NOFILE, &r) == 0 ? static_cast<double>(r.rlim_cur) : std::nan("");
  });
}

}  // namespace assistantd
