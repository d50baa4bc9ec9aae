#include "auth/authorizer.h"

namespace sluice::auth {

bool IsPolicyManagementAction(std::string_view a) {
  return a == "s3:PutBucketPolicy" || a == "s3:GetBucketPolicy" || a == "s3:DeleteBucketPolicy";
}

Verdict Authorize(const AccessRequest& r) {
  static const std::vector<std::string> kNobody;
  const Identity* id = r.identity;
  PolicyRequest pr{r.action, r.resource, id ? &id->principals : &kNobody, r.values};

  Decision bucket = r.bucket_policy ? r.bucket_policy->Evaluate(pr) : Decision::kNotApplicable;
  if (bucket == Decision::kDeny && !(id && id->is_root() && IsPolicyManagementAction(r.action)))
    return Verdict::kExplicitDeny;
  if (!id)
    return bucket == Decision::kAllow || r.acl_grants ? Verdict::kAllow : Verdict::kImplicitDeny;

  bool identity_allows = false;
  for (const auto& p : id->policies) {
    Decision d = p->Evaluate(pr);
    if (d == Decision::kDeny) return Verdict::kExplicitDeny;
    identity_allows = identity_allows || d == Decision::kAllow;
  }
  if (id->session_policy) {
    Decision d = id->session_policy->Evaluate(pr);
    if (d == Decision::kDeny) return Verdict::kExplicitDeny;
    if (d != Decision::kAllow) return Verdict::kImplicitDeny;
  }
  if (id->admin) return Verdict::kAllow;
  if (identity_allows || bucket == Decision::kAllow || r.acl_grants) return Verdict::kAllow;
  return Verdict::kImplicitDeny;
}

}  // namespace sluice::auth
