#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assistantd {

// A random (version 4) UUID in lowercase canonical form.
std::string NewUuid();
// A random UUID (v4) for correlating a request's logs, from a per-thread ChaCha20 stream
// seeded by the operating system once: no system call per request. Never for secrets.
std::string NewRequestId();
// A version 7 UUID (RFC 9562): a millisecond timestamp, then random bits. Rows keyed by such
// ids are inserted at the end of their indexes, so concurrent inserts share pages (each
// commit writes fewer of them) where random ids would scatter over the whole index.
std::string NewTimeOrderedUuid();

// The canonical lowercase form of a UUID in 8-4-4-4-12 hex form (either case), or nullopt.
std::optional<std::string> NormalizeUuid(std::string_view text);

}  // namespace assistantd
