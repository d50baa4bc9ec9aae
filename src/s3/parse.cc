#include "s3/parse.h"

#include "common/strings.h"

namespace sluice::s3 {

std::string QuoteEtag(std::string_view etag) {
  std::string s;
  s.reserve(etag.size() + 2);
  s.push_back('"');
  s.append(etag);
  s.push_back('"');
  return s;
}

std::string_view UnquoteEtag(std::string_view e) {
  e = Trim(e);
  if (e.starts_with("W/")) e.remove_prefix(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

Status ValidateTags(const meta::HeaderList& tags) {
  if (tags.size() > 10) return Error(Err::kInvalidTag, "Object tags cannot be greater than 10");
  for (size_t i = 0; i < tags.size(); i++) {
    const auto& [k, v] = tags[i];
    if (k.empty() || k.size() > 128 || !IsValidUtf8(k))
      return Error(Err::kInvalidTag, "The TagKey you have provided is invalid");
    if (v.size() > 256 || !IsValidUtf8(v))
      return Error(Err::kInvalidTag, "The TagValue you have provided is invalid");
    for (size_t j = 0; j < i; j++)
      if (tags[j].first == k)
        return Error(Err::kInvalidTag, "Cannot provide multiple Tags with the same key");
  }
  return Status::Ok();
}

Result<meta::HeaderList> ParseTaggingHeader(std::string_view v) {
  meta::HeaderList tags;
  while (!v.empty()) {
    size_t amp = v.find('&');
    std::string_view item = v.substr(0, amp);
    v = amp == std::string_view::npos ? std::string_view() : v.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    auto k = UriDecode(item.substr(0, eq), true);
    auto val =
        UriDecode(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1), true);
    if (!k || !val)
      return Error(Err::kInvalidTag, "The x-amz-tagging header is not URL-encoded correctly");
    tags.emplace_back(std::move(*k), std::move(*val));
  }
  SLUICE_RETURN_IF_ERROR(ValidateTags(tags));
  return tags;
}

Result<std::optional<ByteRange>> ParseRange(std::string_view h, uint64_t size) {
  h = Trim(h);
  if (h.empty() || !h.starts_with("bytes=")) return std::optional<ByteRange>();
  std::string_view spec = Trim(h.substr(6));
  if (spec.find(',') != std::string_view::npos)
    return std::optional<ByteRange>();  // multi-range: ignored
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::optional<ByteRange>();
  std::string_view a = Trim(spec.substr(0, dash)), b = Trim(spec.substr(dash + 1));
  auto unsatisfiable = [&] {
    return Error(Err::kInvalidRange, "The requested range is not satisfiable");
  };
  ByteRange r;
  if (a.empty()) {  // suffix: the last n bytes
    auto n = ParseUint(b);
    if (!n) return std::optional<ByteRange>();
    if (*n == 0 || size == 0) return unsatisfiable();
    r.length = std::min(*n, size);
    r.start = size - r.length;
    return std::optional<ByteRange>(r);
  }
  auto start = ParseUint(a);
  if (!start) return std::optional<ByteRange>();
  std::optional<uint64_t> end;
  if (!b.empty()) {
    end = ParseUint(b);
    if (!end || *end < *start) return std::optional<ByteRange>();  // syntactically invalid: ignored
  }
  if (*start >= size) return unsatisfiable();
  uint64_t last = end ? std::min(*end, size - 1) : size - 1;
  r.start = *start;
  r.length = last - *start + 1;
  return std::optional<ByteRange>(r);
}

}  // namespace sluice::s3
