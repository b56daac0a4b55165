#include "http/conditional.hpp"

#include <vector>

#include "common/ascii.hpp"
#include "common/encoding.hpp"

namespace assistantd::http {
namespace {

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // with its quotes
};

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// An entity-tag list (`#entity-tag`, empty members allowed), or nullopt when it is not one: a
// header we cannot read as tags then matches nothing.
std::optional<std::vector<EntityTag>> ParseTags(std::string_view header) {
  std::vector<EntityTag> tags;
  size_t i = 0;
  while (true) {
    while (i < header.size() && (IsOws(header[i]) || header[i] == ',')) ++i;
    if (i == header.size()) return tags;
    EntityTag tag;
    if (header.compare(i, 2, "W/") == 0) {
      tag.weak = true;
      i += 2;
    }
    if (i == header.size() || header[i] != '"') return std::nullopt;
    size_t end = i + 1;
    while (end < header.size() && header[end] != '"') {
      const auto c = static_cast<unsigned char>(header[end]);
      if (c < 0x21 || c == 0x7f) return std::nullopt;  // etagc excludes CTLs and space
      ++end;
    }
    if (end == header.size()) return std::nullopt;
    tag.opaque = header.substr(i, end + 1 - i);
    tags.push_back(tag);
    i = end + 1;
    while (i < header.size() && IsOws(header[i])) ++i;
    if (i < header.size() && header[i] != ',') return std::nullopt;
  }
}

EntityTag Split(std::string_view tag) {
  if (tag.starts_with("W/")) return {true, tag.substr(2)};
  return {false, tag};
}

bool IsStar(std::string_view header) {
  while (!header.empty() && IsOws(header.front())) header.remove_prefix(1);
  while (!header.empty() && IsOws(header.back())) header.remove_suffix(1);
  return header == "*";
}

}  // namespace

std::string StrongEtag(std::string_view representation) {
  return "\"" + Base64UrlEncode(ShortDigest(representation)) + "\"";
}

std::string WeakEtag(std::string_view representation) { return "W/" + StrongEtag(representation); }

bool NoneMatchHits(std::string_view header, std::string_view current) {
  if (IsStar(header)) return true;
  const auto tags = ParseTags(header);
  if (!tags) return false;
  const auto now = Split(current);
  for (const auto& t : *tags) {
    if (t.opaque == now.opaque) return true;
  }
  return false;
}

bool MatchHolds(std::string_view header, std::string_view current) {
  if (IsStar(header)) return true;
  const auto tags = ParseTags(header);
  const auto now = Split(current);
  if (!tags || now.weak) return false;
  for (const auto& t : *tags) {
    if (!t.weak && t.opaque == now.opaque) return true;
  }
  return false;
}

std::optional<std::string> CombinedHeader(const Request& request, std::string_view lower_name) {
  std::optional<std::string> out;
  for (const auto& [name, value] : request.headers) {
    if (name != lower_name) continue;
    out = out ? *out + ", " + value : value;
  }
  return out;
}

Response NotModified(const Response& full) {
  Response r;
  r.status = 304;
  for (const auto& [name, value] : full.headers) {
    const std::string lower = AsciiLower(name);
    if (lower != "content-type" && lower != "content-length") r.headers.emplace_back(name, value);
  }
  return r;
}

std::optional<Response> RevalidateGet(const Request& request, const Response& response) {
  if (request.method != "GET" || response.status != 200) return std::nullopt;
  const auto etag = response.Header("ETag");
  const auto condition = CombinedHeader(request, "if-none-match");
  if (!etag || !condition || !NoneMatchHits(*condition, *etag)) return std::nullopt;
  return NotModified(response);
}

}  // namespace assistantd::http
