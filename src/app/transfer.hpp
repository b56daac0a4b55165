#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "common/clock.hpp"
#include "storage/storage.hpp"

namespace assistantd::app {

// Writes every user, stored Vapi key and assistant as JSON lines to `out`, page by page;
// returns the counts written.
Result<nlohmann::json> ExportAll(storage::UserStore& users, storage::KeyStore& keys,
                                 storage::SyncStore& sync, const Clock& clock, std::ostream& out);

// Reads an export back into an empty database: the file is checked whole (format, records,
// closing counts) before anything is written. Returns the counts imported.
Result<nlohmann::json> ImportAll(const std::string& path, storage::UserStore& users,
                                 storage::AssistantStore& assistants, storage::KeyStore& keys,
                                 storage::SyncStore& sync);

}  // namespace assistantd::app
