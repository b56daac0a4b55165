#include "domain/list_query.hpp"

#include <charconv>

#include "common/encoding.hpp"
#include "common/uuid.hpp"

namespace assistantd::domain {

std::string EncodeCursor(const ListCursor& cursor) {
  return Base64UrlEncode(std::to_string(cursor.created_at_us) + "." + cursor.id);
}

std::optional<ListCursor> DecodeCursor(std::string_view text) {
  if (text.size() > 128) return std::nullopt;
  const auto raw = Base64UrlDecode(text);
  if (!raw) return std::nullopt;
  const auto dot = raw->find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  ListCursor cursor;
  const char* begin = raw->data();
  const auto [ptr, ec] = std::from_chars(begin, begin + dot, cursor.created_at_us);
  if (ec != std::errc() || ptr != begin + dot || cursor.created_at_us < 0) return std::nullopt;
  const auto id = NormalizeUuid(std::string_view(*raw).substr(dot + 1));
  if (!id) return std::nullopt;
  cursor.id = *id;
  return cursor;
}

}  // namespace assistantd::domain
