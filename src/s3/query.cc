#include "s3/query.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"

namespace sluice::s3 {

Query::Query(const Query& other) { *this = other; }

Query& Query::operator=(const Query& other) {
  if (this == &other) return *this;
  text_size_ = other.text_size_;
  text_ = text_size_ ? std::make_unique<char[]>(text_size_) : nullptr;
  if (text_size_) std::memcpy(text_.get(), other.text_.get(), text_size_);
  items_.clear();
  items_.reserve(other.items_.size());
  auto rebase = [&](std::string_view v) {
    return v.empty() ? std::string_view()
                     : std::string_view(text_.get() + (v.data() - other.text_.get()), v.size());
  };
  for (const auto& [k, v] : other.items_) items_.emplace_back(rebase(k), rebase(v));
  return *this;
}

Result<Query> Query::Parse(std::string_view raw) {
  Query q;
  if (raw.empty()) return q;
  q.text_size_ = raw.size();
  q.text_.reset(new char[raw.size()]);  // NOLINT(cppcoreguidelines-owning-memory): no zeroing
  q.items_.reserve(static_cast<size_t>(std::count(raw.begin(), raw.end(), '&')) + 1);
  char* at = q.text_.get();
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view item = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    const size_t kn = UriDecodeInto(k, at);
    if (kn == std::string_view::npos) return Error(Err::kInvalidURI, "malformed query string");
    const size_t vn = UriDecodeInto(v, at + kn);
    if (vn == std::string_view::npos) return Error(Err::kInvalidURI, "malformed query string");
    q.items_.emplace_back(std::string_view(at, kn), std::string_view(at + kn, vn));
    at += kn + vn;
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
