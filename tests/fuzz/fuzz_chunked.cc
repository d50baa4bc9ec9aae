// aws-chunked bodies: framing, trailers and signature checks, fed in arbitrary pieces.
// The first byte picks the variant (unsigned+trailer, signed, signed+trailer) and the
// piece size.
#include <cstdint>
#include <cstdlib>

#include "auth/sigv4.h"
#include "s3/aws_chunked.h"

using namespace sluice;

// compat: aws-chunked
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  int mode = data[0] % 3;
  size_t piece = 1 + (data[0] >> 2);
  std::optional<s3::AwsChunkedParser::Signing> signing;
  if (mode != 0)
    signing = s3::AwsChunkedParser::Signing{
        auth::DeriveSigningKey("secret", "20130524", "us-east-1", "s3"), "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request", std::string(64, '0')};
  s3::AwsChunkedParser p(signing, mode != 1);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  char out[300];
  uint64_t total = 0;
  while (!in.empty() && !p.done()) {
    std::string_view slice = in.substr(0, piece);
    size_t before = slice.size();
    size_t produced = 0;
    if (!p.Feed(&slice, out, sizeof out, &produced).ok()) return 0;
    if (produced > sizeof out) std::abort();
    total += produced;
    size_t used = before - slice.size();
    if (used == 0 && produced == 0) std::abort();  // no progress on non-empty input
    in.remove_prefix(used);
  }
  return 0;
}
