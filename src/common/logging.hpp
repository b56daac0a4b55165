#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace assistantd {

using Logger = std::shared_ptr<spdlog::logger>;

// Makes named loggers that write one JSON object per line to stderr (or `fd`):
// {"ts":"…","level":"info","logger":"http","msg":"…", …fields}. The lines are written by a
// thread of the factory's, in order, whole; lines at warn and above are written before the
// call returns, and so is everything logged before them.
class LogFactory {
 public:
  // level: trace, debug, info, warn, error, critical or off.
  explicit LogFactory(std::string_view level, int fd = 2);
  Logger Make(const std::string& name) const;
  // Returns once every line logged so far is written.
  void Flush() const;

 private:
  spdlog::sink_ptr sink_;
  spdlog::level::level_enum level_;
};

// True if `level` names a log level LogFactory accepts.
bool IsValidLogLevel(std::string_view level);

// Logs `msg` with extra structured fields. Field values must never contain secrets.
void LogEvent(const Logger& logger, spdlog::level::level_enum level, std::string_view msg,
              const nlohmann::json& fields = nlohmann::json::object());

}  // namespace assistantd
