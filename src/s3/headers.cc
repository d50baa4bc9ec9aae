#include "s3/headers.h"

#include "common/strings.h"

namespace sluice::s3 {
namespace {

constexpr std::string_view kStoredHeaders[] = {"content-encoding", "content-disposition",
                                               "cache-control", "expires", "content-language"};

constexpr std::pair<std::string_view, std::string_view> kOverrides[] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"}};

// Whether an If-Match / If-None-Match list matches the etag ("*" matches anything).
bool EtagListMatches(std::string_view list, std::string_view etag) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item == "*" || UnquoteEtag(item) == etag) return true;
  }
  return false;
}

int64_t Seconds(int64_t micros) { return micros / 1000000; }

// The shared rule for both GET preconditions and copy-source ones.
Status Evaluate(std::string_view if_match, bool has_match, std::string_view if_none,
                bool has_none, std::string_view if_mod, std::string_view if_unmod,
                const meta::ObjectMeta& m, bool not_modified_is_304) {
  auto failed = [] { return Error(Err::kPreconditionFailed, ""); };
  if (has_match) {
    if (!EtagListMatches(if_match, m.etag)) return failed();
  } else if (!if_unmod.empty()) {
    auto t = ParseHttpDate(if_unmod);
    if (t && Seconds(m.mtime_micros) > Seconds(*t)) return failed();
  }
  if (has_none) {
    if (EtagListMatches(if_none, m.etag))
      return not_modified_is_304 ? Error(Err::kNotModified, "") : failed();
  } else if (!if_mod.empty()) {
    auto t = ParseHttpDate(if_mod);
    if (t && Seconds(m.mtime_micros) <= Seconds(*t))
      return not_modified_is_304 ? Error(Err::kNotModified, "") : failed();
  }
  return Status::Ok();
}

}  // namespace

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

Status ExtractObjectHeaders(const http::Request& req, const Limits& limits,
                            std::string* content_type, meta::HeaderList* headers) {
  *content_type = std::string(req.header("content-type"));
  size_t meta_size = 0;
  Status bad;
  req.ForEachHeader([&](std::string_view name, std::string_view value) {
    std::string lower = ToLower(name);
    if (lower.starts_with("x-amz-meta-")) {
      meta_size += lower.size() - 11 + value.size();
      headers->emplace_back(std::move(lower), std::string(value));
      return;
    }
    for (auto h : kStoredHeaders)
      if (lower == h) headers->emplace_back(std::move(lower), std::string(value));
  });
  if (meta_size > limits.max_user_metadata)
    return Error(Err::kMetadataTooLarge, "Your metadata headers exceed the maximum allowed "
                                         "metadata size (2 KB of x-amz-meta-* names and values).");
  return Status::Ok();
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
      if (tags[j].first == k) return Error(Err::kInvalidTag, "Cannot provide multiple Tags with the same key");
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
    auto val = UriDecode(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1), true);
    if (!k || !val) return Error(Err::kInvalidTag, "The x-amz-tagging header is not URL-encoded correctly");
    tags.emplace_back(std::move(*k), std::move(*val));
  }
  SLUICE_RETURN_IF_ERROR(ValidateTags(tags));
  return tags;
}

void AddObjectHeaders(http::ResponseHead& head, const meta::ObjectMeta& m, const Query& q) {
  head.Set("ETag", QuoteEtag(m.etag));
  head.Set("Last-Modified", FormatHttpDate(m.mtime_micros));
  head.Set("Accept-Ranges", "bytes");
  std::string_view ct = q.Get("response-content-type");
  head.Set("Content-Type", !ct.empty() ? std::string(ct)
                           : m.content_type.empty() ? "binary/octet-stream"
                                                    : m.content_type);
  for (const auto& [k, v] : m.headers) {
    bool overridden = false;
    for (const auto& [param, name] : kOverrides)
      if (EqualsIgnoreCase(name, k) && q.Has(param)) overridden = true;
    if (!overridden) head.Set(k, v);
  }
  for (const auto& [param, name] : kOverrides)
    if (param != "response-content-type" && q.Has(param))
      head.Set(std::string(name), std::string(q.Get(param)));
  if (!m.tags.empty()) head.Set("x-amz-tagging-count", std::to_string(m.tags.size()));
}

Status CheckReadPreconditions(const http::Request& req, const meta::ObjectMeta& m) {
  return Evaluate(req.header("if-match"), req.has_header("if-match"), req.header("if-none-match"),
                  req.has_header("if-none-match"), req.header("if-modified-since"),
                  req.header("if-unmodified-since"), m, true);
}

Status CheckCopySourcePreconditions(const http::Request& req, const meta::ObjectMeta& m) {
  return Evaluate(req.header("x-amz-copy-source-if-match"),
                  req.has_header("x-amz-copy-source-if-match"),
                  req.header("x-amz-copy-source-if-none-match"),
                  req.has_header("x-amz-copy-source-if-none-match"),
                  req.header("x-amz-copy-source-if-modified-since"),
                  req.header("x-amz-copy-source-if-unmodified-since"), m, false);
}

Result<std::optional<ByteRange>> ParseRange(std::string_view h, uint64_t size) {
  h = Trim(h);
  if (h.empty() || !h.starts_with("bytes=")) return std::optional<ByteRange>();
  std::string_view spec = Trim(h.substr(6));
  if (spec.find(',') != std::string_view::npos) return std::optional<ByteRange>();  // multi-range: ignored
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

Result<meta::WriteCondition> ParseWriteCondition(const http::Request& req) {
  meta::WriteCondition c;
  if (req.has_header("if-none-match")) {
    if (Trim(req.header("if-none-match")) != "*")
      return Error(Err::kNotImplemented, "If-None-Match on writes supports only '*'");
    c.if_none_match_any = true;
  }
  if (req.has_header("if-match")) c.if_match = std::string(UnquoteEtag(req.header("if-match")));
  return c;
}

}  // namespace sluice::s3
