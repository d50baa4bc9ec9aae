// SigV4 and SigV2 verification over arbitrary request lines and headers. The input is
// "METHOD PATH?QUERY\nname: value\n...".
#include <cstdint>
#include <map>
#include <string>

#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "common/strings.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string first = in.substr(0, nl);
  std::map<std::string, std::string> headers;
  while (nl != std::string::npos) {
    size_t next = in.find('\n', nl + 1);
    std::string line =
        in.substr(nl + 1, next == std::string::npos ? std::string::npos : next - nl - 1);
    size_t colon = line.find(':');
    if (colon != std::string::npos)
      headers[ToLower(line.substr(0, colon))] = std::string(Trim(line.substr(colon + 1)));
    nl = next;
  }
  size_t sp = first.find(' ');
  std::string method = first.substr(0, sp);
  std::string target = sp == std::string::npos ? "/" : first.substr(sp + 1);
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  auth::StaticCredentialStore creds;
  creds.Add({"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "o", "n"});
  io::ManualClock clock(1369353600LL * 1000000);
  auth::RequestView r{method,
                      path,
                      query,
                      [&](std::string_view n) -> std::string_view {
                        auto it = headers.find(std::string(n));
                        return it == headers.end() ? std::string_view()
                                                   : std::string_view(it->second);
                      },
                      {}};
  auth::AuthFailureDetails d;
  auth::SigV4Verifier v4(&creds, &clock);
  auth::SigV2Verifier v2(&creds, &clock);
  if (auth::SigV4Verifier::HasAuth(r)) (void)v4.Verify(r, &d);
  if (auth::SigV2Verifier::HasAuth(r)) (void)v2.Verify(r, "bucket", &d);
  (void)auth::CanonicalQuery(query, "X-Amz-Signature");
  (void)auth::CanonicalUri(path);
  return 0;
}
