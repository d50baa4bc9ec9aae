// Browser form uploads: the multipart/form-data parser fed in arbitrary pieces (the first
// byte picks the piece size), and the POST policy document and its checks on the fields
// the parser found.
#include <cstdint>
#include <cstdlib>

#include "auth/post_policy.h"
#include "common/strings.h"
#include "s3/form_data.h"

using namespace sluice;

// compat: post-object
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  s3::FormDataParser p("b0undary");
  auth::FormFields fields;
  std::string* value = nullptr;
  size_t steps = 0;
  for (;;) {
    if (++steps > 10 * size + 100) std::abort();  // no progress
    auto e = p.Next();
    if (!e.ok()) break;
    if (e->kind == s3::FormDataParser::Event::kEnd) break;
    if (e->kind == s3::FormDataParser::Event::kNeedMore) {
      if (in.empty()) {
        p.Finish();
        continue;
      }
      p.Feed(in.substr(0, piece));
      in.remove_prefix(std::min(piece, in.size()));
    } else if (e->kind == s3::FormDataParser::Event::kPartStart) {
      value = &fields[ToLower(e->name)];
    } else if (e->kind == s3::FormDataParser::Event::kData) {
      if (!value) std::abort();
      value->append(e->data);
    }
  }
  auto policy = auth::ParsePostPolicy(fields["policy"]);
  if (policy.ok()) (void)auth::CheckPostPolicy(*policy, fields, "bucket", 0);
  // The policy text itself, as JSON rather than base64.
  (void)auth::ParsePostPolicy(
      Base64Encode(std::string_view(reinterpret_cast<const char*>(data), size)));
  (void)s3::FormBoundary(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
