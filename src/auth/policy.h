// IAM policy documents (AWS's JSON policy language): parsing with validation, and the
// evaluation of one policy against one request.
//
// A Policy is parsed once ("compiled": actions lowercased, CIDRs and numbers decoded) and
// then shared read-only between threads. Evaluate() does no heap allocation unless a
// pattern holds a policy variable (${aws:username}).
//
// How several policies combine (identity, bucket, session) is the caller's business:
// see Authorizer in auth/authorizer.h, which follows AWS's documented evaluation logic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::auth {

enum class Decision { kNotApplicable, kAllow, kDeny };

// The values a condition may test. Names are lowercase ("aws:sourceip", "s3:prefix").
class ConditionValues {
 public:
  virtual ~ConditionValues() = default;
  // False when the key is absent from the request context.
  virtual bool Get(std::string_view lower_key, std::string* value) const = 0;
  // Every value of a multi-valued key (s3:requestobjecttagkeys); single-valued keys give one.
  virtual bool GetAll(std::string_view lower_key, std::vector<std::string>* values) const {
    std::string v;
    if (!Get(lower_key, &v)) return false;
    values->push_back(std::move(v));
    return true;
  }
};

// Whether the S3 layer supplies `lower_key` to conditions (s3/authz.cc's RequestValues; keep
// the two in step). Policy::Parse refuses any other key with MalformedPolicy naming it, so
// a policy never silently fails closed on a key nobody fills in.
bool IsEvaluatedConditionKey(std::string_view lower_key);

// The request as one policy sees it.
struct PolicyRequest {
  std::string_view action;    // "s3:GetObject"
  std::string_view resource;  // "arn:aws:s3:::bucket/key", or "arn:aws:s3:::bucket"
  // The principal names the caller answers to (ARNs, the account id); empty = anonymous.
  const std::vector<std::string>* principals = nullptr;
  const ConditionValues* values = nullptr;
};

enum class PolicyKind {
  kIdentity,  // attached to a user, or a session policy: no Principal element
  kResource,  // a bucket policy: every statement names a Principal
};

class Policy {
 public:
  // Validates and compiles. kMalformedPolicy with the reason on anything AWS would refuse.
  // `bucket` (resource policies): every Resource must name that bucket or its objects.
  static Result<std::shared_ptr<const Policy>> Parse(std::string_view json, PolicyKind kind,
                                                     std::string_view bucket = {});

  // kDeny if a Deny statement matches, else kAllow if an Allow statement matches.
  Decision Evaluate(const PolicyRequest& r) const;

  // S3's "is public" test for GetBucketPolicyStatus: an Allow to Principal "*" with no
  // condition that narrows who may call (source IP, user, account).
  bool IsPublic() const;

  struct Statement;
  ~Policy();
  Policy();

 private:
  std::vector<Statement> statements_;
  bool variables_ = false;  // Version 2012-10-17: ${...} policy variables are expanded
};

// IAM's wildcard match: '*' any run of characters, '?' exactly one. Case-sensitive unless
// `fold_case`.
bool GlobMatch(std::string_view pattern, std::string_view text, bool fold_case = false);

// Whether `action` ("s3:GetObject") is one of the actions this server implements.
bool IsKnownAction(std::string_view action);
const std::vector<std::string_view>& KnownActions();

}  // namespace sluice::auth
