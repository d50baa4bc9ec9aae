// Whether an identity may perform an action on a resource: AWS's policy evaluation logic
// for requests within one account.
//
//   1. An explicit Deny in any applicable policy (the identity's, the session's, the
//      bucket's) refuses the request. Root is exempt from bucket-policy Deny only for the
//      bucket-policy actions themselves, so the owner can never be locked out.
//   2. A session is limited to what its session policy allows.
//   3. Root and admin users may do everything else.
//   4. Otherwise an Allow from an identity policy, the bucket policy or a canned-ACL grant
//      permits it; with none, the request is refused (implicit deny).
#pragma once

#include <string_view>

#include "auth/credentials.h"
#include "auth/policy.h"

namespace sluice::auth {

struct AccessRequest {
  std::string_view action;
  std::string_view resource;
  const Identity* identity = nullptr;     // null: an anonymous request
  const Policy* bucket_policy = nullptr;  // null: the bucket has none
  const ConditionValues* values = nullptr;
  bool acl_grants = false;  // a canned ACL grants this action
};

enum class Verdict { kAllow, kExplicitDeny, kImplicitDeny };

Verdict Authorize(const AccessRequest& r);

// The bucket-policy actions root may always perform.
bool IsPolicyManagementAction(std::string_view action);

}  // namespace sluice::auth
