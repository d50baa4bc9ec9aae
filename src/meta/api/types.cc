#include "meta/api/types.h"

#include <charconv>

namespace sluice::meta {

// "<bucket length>:<bucket><key length>:<key><upload>": lengths, because a key may hold
// any byte.
std::string DataOwner::Encode() const {
  std::string out;
  out.reserve(bucket.str().size() + key.str().size() + upload.str().size() + 12);
  out += std::to_string(bucket.str().size());
  out += ':';
  out += bucket.str();
  out += std::to_string(key.str().size());
  out += ':';
  out += key.str();
  out += upload.str();
  return out;
}

namespace {

std::optional<std::string_view> TakeCounted(std::string_view* s) {
  size_t colon = s->find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  size_t n = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + colon, n);
  if (ec != std::errc() || end != s->data() + colon || n > s->size() - colon - 1)
    return std::nullopt;
  std::string_view out = s->substr(colon + 1, n);
  s->remove_prefix(colon + 1 + n);
  return out;
}

}  // namespace

std::optional<DataOwner> DataOwner::Decode(std::string_view s) {
  auto b = TakeCounted(&s);
  if (!b) return std::nullopt;
  auto k = TakeCounted(&s);
  if (!k) return std::nullopt;
  auto bucket = ParseBucketName(*b);
  auto key = ParseObjectKey(*k);
  if (!bucket.ok() || !key.ok()) return std::nullopt;
  DataOwner o{std::move(bucket).value(), std::move(key).value(), {}};
  if (!s.empty()) {
    auto u = ParseUploadId(s);
    if (!u.ok()) return std::nullopt;
    o.upload = std::move(u).value();
  }
  return o;
}

}  // namespace sluice::meta
