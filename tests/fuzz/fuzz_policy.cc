// IAM policy documents arrive from the network (PutBucketPolicy, the admin API, STS's
// Policy parameter): parse them as either kind, and evaluate what parses against requests
// whose context values come from the input too (wildcards, variables, IPs, dates).
#include <cstdint>
#include <map>
#include <string>

#include "auth/authorizer.h"
#include "auth/policy.h"

using namespace sluice;

namespace {

class Values final : public auth::ConditionValues {
 public:
  std::map<std::string, std::string> m;
  bool Get(std::string_view k, std::string* v) const override {
    auto it = m.find(std::string(k));
    if (it == m.end()) return false;
    *v = it->second;
    return true;
  }
};

}  // namespace

// compat: bucket-policy
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The tail after the last NUL, if any, is a request context value and a glob subject.
  size_t nul = in.rfind('\0');
  std::string_view doc = nul == std::string_view::npos ? in : in.substr(0, nul);
  std::string tail(nul == std::string_view::npos ? "" : in.substr(nul + 1));
  auth::GlobMatch(doc.substr(0, 64), tail);
  auth::GlobMatch(doc.substr(0, 64), tail, true);
  Values v;
  for (const char* k : {"aws:sourceip", "aws:currenttime", "s3:prefix", "aws:username",
                        "s3:max-keys", "aws:securetransport", "aws:referer"})
    v.m[k] = tail;
  std::vector<std::string> who = {"arn:aws:iam::000000000000:user/" + tail};
  for (auto kind : {auth::PolicyKind::kResource, auth::PolicyKind::kIdentity}) {
    auto p = auth::Policy::Parse(doc, kind, kind == auth::PolicyKind::kResource ? "bucket" : "");
    if (!p.ok()) continue;
    (*p)->IsPublic();
    for (const char* action : {"s3:GetObject", "s3:ListBucket", "s3:PutObject"}) {
      std::string resource = "arn:aws:s3:::bucket/" + tail;
      (*p)->Evaluate({action, resource, &who, &v});
      auth::AccessRequest r{action, resource, nullptr, p->get(), &v, false};
      auth::Authorize(r);
    }
  }
  return 0;
}
