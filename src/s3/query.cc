#include "s3/query.h"

#include "common/strings.h"

namespace sluice::s3 {

Result<Query> Query::Parse(std::string_view raw) {
  Query q;
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view item = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    auto k = UriDecode(item.substr(0, eq));
    auto v = UriDecode(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    if (!k || !v) return Error(Err::kInvalidURI, "malformed query string");
    q.items_.emplace_back(std::move(*k), std::move(*v));
  }
  return q;
}

bool Query::Has(std::string_view name) const {
  for (const auto& [k, v] : items_)
    if (k == name) return true;
  return false;
}

std::string_view Query::Get(std::string_view name) const {
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return {};
}

}  // namespace sluice::s3
