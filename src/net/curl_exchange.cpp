#include "net/curl_exchange.hpp"

#include <curl/curl.h>

#include <mutex>
#include <string_view>

#include "common/ascii.hpp"

namespace assistantd::net {
namespace {

struct Exchange {
  const CurlRequest* request = nullptr;
  CurlAnswer* answer = nullptr;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const size_t n = size * count;
  if (ex->answer->body.size() + n > ex->request->max_response_bytes) {
    ex->answer->too_large = true;
    return 0;  // aborts the transfer
  }
  ex->answer->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const size_t n = size * count;
  const std::string_view line(data, n);
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string name = AsciiLower(line.substr(0, colon));
  for (const auto& wanted : ex->request->capture) {
    if (wanted != name) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    ex->answer->headers[name] = std::string(value);
  }
  return n;
}

}  // namespace

void EnsureCurlInitialised() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlSession::CurlSession() : handle_((EnsureCurlInitialised(), curl_easy_init())) {}

CurlSession::~CurlSession() {
  if (handle_) curl_easy_cleanup(static_cast<CURL*>(handle_));
}

CurlAnswer Perform(void* handle, const CurlRequest& request) {
  CurlAnswer answer;
  CURL* curl = static_cast<CURL*>(handle);
  if (!curl) {
    answer.error = "curl_easy_init failed";
    answer.nothing_sent = true;
    return answer;
  }
  curl_easy_reset(curl);
  Exchange ex{&request, &answer};
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (request.body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body->size()));
  }
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, request.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_response_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, request.user_agent);
  if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(headers);
  if (rc == CURLE_FILESIZE_EXCEEDED) answer.too_large = true;
  answer.ok = rc == CURLE_OK && !answer.too_large;
  if (!answer.ok) {
    answer.error = curl_easy_strerror(rc);
    answer.nothing_sent = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                          rc == CURLE_COULDNT_RESOLVE_PROXY;
  }
  return answer;
}

}  // namespace assistantd::net
