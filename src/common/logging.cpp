#include "common/logging.hpp"

#include <array>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace assistantd {
namespace {

constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug", "info",    "warn",
                                                     "error", "critical", "off"};

}  // namespace

bool IsValidLogLevel(std::string_view level) {
  for (const auto l : kLevels) {
    if (l == level) return true;
  }
  return false;
}

LogFactory::LogFactory(std::string_view level)
    : sink_(std::make_shared<spdlog::sinks::stderr_sink_mt>()),
      level_(spdlog::level::from_str(std::string(level))) {
  // %v is the rest of a JSON object produced by LogEvent (starting with "msg").
  sink_->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n",%v})",
      spdlog::pattern_time_type::utc));
}

Logger LogFactory::Make(const std::string& name) const {
  auto logger = std::make_shared<spdlog::logger>(name, sink_);
  logger->set_level(level_);
  logger->flush_on(spdlog::level::info);
  return logger;
}

void LogEvent(const Logger& logger, spdlog::level::level_enum level, std::string_view msg,
              const nlohmann::json& fields) {
  if (!logger || !logger->should_log(level)) return;
  nlohmann::json line = nlohmann::json::object();
  line["msg"] = msg;
  for (const auto& [k, v] : fields.items()) line[k] = v;
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Strip the outer braces: the pattern supplies them around the fixed fields.
  logger->log(level, std::string_view(text).substr(1, text.size() - 2));
}

}  // namespace assistantd
