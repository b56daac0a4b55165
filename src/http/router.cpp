#include "http/router.hpp"

#include <algorithm>

namespace assistantd::http {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string_view RequestContext::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

void Router::Add(std::string method, std::string pattern, Access access, RouteHandler handler) {
  Route r{std::move(method), std::move(pattern), access, std::move(handler), {}, {}};
  for (const auto s : Split(r.pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

void Router::AddAsync(std::string method, std::string pattern, Access access,
                      AsyncRouteHandler handler) {
  Route r{std::move(method), std::move(pattern), access, {}, std::move(handler), {}};
  for (const auto s : Split(r.pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

void Router::AddNonBlocking(std::string method, std::string pattern, Access access,
                            AsyncRouteHandler handler) {
  AddAsync(std::move(method), std::move(pattern), access, std::move(handler));
  routes_.back().non_blocking = true;
}

std::vector<std::string> Router::Table() const {
  std::vector<std::string> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back(r.method + " " + r.pattern);
  return out;
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  if (path.empty() || path[0] != '/') return result;
  // A trailing slash names the same resource ("/v1/assistants/").
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const auto parts = Split(path);
  for (const auto& route : routes_) {
    if (route.segments.size() != parts.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const auto& seg = route.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        if (parts[i].empty()) ok = false;
        params.emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
      } else {
        ok = seg == parts[i];
      }
    }
    if (!ok) continue;
    if (route.method == method) {
      result.route = &route;
      result.params = std::move(params);
      return result;
    }
    if (std::find(result.allowed.begin(), result.allowed.end(), route.method) ==
        result.allowed.end()) {
      result.allowed.push_back(route.method);
    }
  }
  if (!result.allowed.empty()) result.allowed.push_back("OPTIONS");
  return result;
}

}  // namespace assistantd::http
