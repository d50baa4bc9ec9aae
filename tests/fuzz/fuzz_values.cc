// Header and query values: ranges, tagging, URI and base64 decoding, dates, UTF-8.
#include <cstdint>
#include <cstdlib>

#include "common/strings.h"
#include "s3/parse.h"
#include "s3/query.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  uint64_t object_size = size ? data[0] * 1000ULL : 0;
  auto r = s3::ParseRange(in, object_size);
  if (r.ok() && *r && ((*r)->length == 0 || (*r)->start + (*r)->length > object_size)) std::abort();
  (void)s3::ParseTaggingHeader(in);
  (void)s3::Query::Parse(in);
  if (auto d = UriDecode(in)) {
    auto back = UriDecode(UriEncode(*d, true));
    if (!back || *back != *d) std::abort();
  }
  if (auto b = Base64Decode(in)) (void)Base64Encode(*b);
  (void)ParseHttpDate(in);
  (void)ParseAmzDate(in);
  (void)IsValidUtf8(in);
  (void)ParseUint(in);
  return 0;
}
