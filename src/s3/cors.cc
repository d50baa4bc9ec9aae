#include "s3/cors.h"

#include "common/strings.h"
#include "s3/xml.h"

namespace sluice::s3 {
namespace {

constexpr std::string_view kMethods[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};
constexpr size_t kMaxRules = 100;

// '*' matches any run of characters (S3 allows at most one per pattern).
bool WildcardMatch(std::string_view pattern, std::string_view s, bool ignore_case) {
  auto eq = [&](std::string_view a, std::string_view b) {
    return ignore_case ? EqualsIgnoreCase(a, b) : a == b;
  };
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return eq(pattern, s);
  std::string_view pre = pattern.substr(0, star), post = pattern.substr(star + 1);
  return s.size() >= pre.size() + post.size() && eq(s.substr(0, pre.size()), pre) &&
         eq(s.substr(s.size() - post.size()), post);
}

bool AnyMatch(const std::vector<std::string>& patterns, std::string_view s, bool ignore_case) {
  for (const auto& p : patterns)
    if (WildcardMatch(p, s, ignore_case)) return true;
  return false;
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::vector<std::string_view> SplitHeaders(std::string_view list) {
  std::vector<std::string_view> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

Result<std::vector<CorsRule>> ParseCorsConfiguration(std::string_view xml) {
  pugi::xml_document doc;
  SLUICE_RETURN_IF_ERROR(ParseXml(xml, "CORSConfiguration", &doc));
  std::vector<CorsRule> rules;
  for (auto r : doc.document_element().children()) {
    if (std::string_view(r.name()) != "CORSRule")
      return Error(Err::kMalformedXML, "unexpected element " + std::string(r.name()));
    CorsRule rule;
    for (auto c : r.children()) {
      std::string_view name = c.name();
      std::string text = c.text().as_string();
      auto wildcards = [&](std::string_view what) -> Status {
        if (std::count(text.begin(), text.end(), '*') > 1)
          return Error(Err::kInvalidRequest, std::string(what) + " \"" + text +
                                                 "\" can not have more than one wildcard.");
        return Status::Ok();
      };
      if (name == "ID") {
        rule.id = text;
      } else if (name == "AllowedOrigin") {
        SLUICE_RETURN_IF_ERROR(wildcards("AllowedOrigin"));
        rule.origins.push_back(text);
      } else if (name == "AllowedMethod") {
        if (std::find(std::begin(kMethods), std::end(kMethods), text) == std::end(kMethods))
          return Error(
              Err::kInvalidRequest,
              "Found unsupported HTTP method in CORS config. Unsupported method is " + text);
        rule.methods.push_back(text);
      } else if (name == "AllowedHeader") {
        SLUICE_RETURN_IF_ERROR(wildcards("AllowedHeader"));
        rule.headers.push_back(text);
      } else if (name == "ExposeHeader") {
        rule.expose.push_back(text);
      } else if (name == "MaxAgeSeconds") {
        auto v = ParseUint(text);
        if (!v || *v > INT32_MAX)
          return Error(Err::kMalformedXML, "MaxAgeSeconds must be a number");
        rule.max_age = static_cast<int64_t>(*v);
      } else {
        return Error(Err::kMalformedXML, "unexpected element " + std::string(name));
      }
    }
    if (rule.origins.empty() || rule.methods.empty())
      return Error(Err::kMalformedXML, "a CORSRule needs an AllowedOrigin and an AllowedMethod");
    rules.push_back(std::move(rule));
  }
  if (rules.empty()) return Error(Err::kMalformedXML, "a CORSConfiguration needs a CORSRule");
  if (rules.size() > kMaxRules)
    return Error(Err::kInvalidRequest, "a CORS configuration holds at most 100 rules");
  return rules;
}

std::string RenderCorsConfiguration(const std::vector<CorsRule>& rules) {
  XmlDoc doc("CORSConfiguration");
  for (const auto& r : rules) {
    XmlNode n = doc.root().Child("CORSRule");
    if (!r.id.empty()) n.Add("ID", r.id);
    for (const auto& h : r.headers) n.Add("AllowedHeader", h);
    for (const auto& m : r.methods) n.Add("AllowedMethod", m);
    for (const auto& o : r.origins) n.Add("AllowedOrigin", o);
    for (const auto& e : r.expose) n.Add("ExposeHeader", e);
    if (r.max_age) n.Add("MaxAgeSeconds", static_cast<uint64_t>(*r.max_age));
  }
  return doc.Render();
}

const CorsRule* MatchCors(const std::vector<CorsRule>& rules, std::string_view origin,
                          std::string_view method, std::string_view request_headers) {
  auto headers = SplitHeaders(request_headers);
  for (const auto& r : rules) {
    if (!AnyMatch(r.origins, origin, false)) continue;
    if (std::find(r.methods.begin(), r.methods.end(), method) == r.methods.end()) continue;
    bool all = true;
    for (auto h : headers)
      if (!AnyMatch(r.headers, h, true)) {
        all = false;
        break;
      }
    if (all) return &r;
  }
  return nullptr;
}

void AddCorsHeaders(const CorsRule& rule, std::string_view origin, bool preflight,
                    std::string_view request_headers,
                    std::vector<std::pair<std::string, std::string>>* out) {
  bool any_origin = std::find(rule.origins.begin(), rule.origins.end(), "*") != rule.origins.end();
  out->emplace_back("Access-Control-Allow-Origin", any_origin ? "*" : std::string(origin));
  if (!any_origin) out->emplace_back("Access-Control-Allow-Credentials", "true");
  out->emplace_back("Access-Control-Allow-Methods", JoinList(rule.methods));
  if (!rule.expose.empty())
    out->emplace_back("Access-Control-Expose-Headers", JoinList(rule.expose));
  if (preflight) {
    if (!Trim(request_headers).empty())
      out->emplace_back("Access-Control-Allow-Headers", std::string(Trim(request_headers)));
    if (rule.max_age) out->emplace_back("Access-Control-Max-Age", std::to_string(*rule.max_age));
  }
  out->emplace_back("Vary",
                    "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

}  // namespace sluice::s3
