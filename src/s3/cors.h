// CORS rules of a bucket: the PutBucketCors document, how a request is matched against
// it, and the Access-Control-* headers a match produces. Pure functions; the operations
// are in ops/cors.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/http.h"

namespace sluice::s3 {

struct CorsRule {
  std::string id;
  std::vector<std::string> origins;  // each may hold one '*'
  std::vector<std::string> methods;  // GET PUT POST DELETE HEAD
  std::vector<std::string> headers;  // allowed request headers, each may hold one '*'
  std::vector<std::string> expose;
  std::optional<int64_t> max_age;
};

// Parses and validates a CORSConfiguration document: kMalformedXML, or kInvalidRequest
// for an unsupported method, several wildcards or more than 100 rules.
Result<std::vector<CorsRule>> ParseCorsConfiguration(std::string_view xml);
std::string RenderCorsConfiguration(const std::vector<CorsRule>& rules);

// The first rule that allows `origin` with `method` and every header of the
// comma-separated `request_headers` (case-insensitive); nullptr when none does.
const CorsRule* MatchCors(const std::vector<CorsRule>& rules, std::string_view origin,
                          std::string_view method, std::string_view request_headers);

// The response headers for a request matched by `rule`. A preflight also answers which
// headers may be sent (echoing request_headers) and how long to cache the answer.
void AddCorsHeaders(const CorsRule& rule, std::string_view origin, bool preflight,
                    std::string_view request_headers,
                    std::vector<std::pair<std::string, std::string>>* out);

}  // namespace sluice::s3
