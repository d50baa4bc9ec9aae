#include "auth/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/strings.h"

namespace sluice::auth {
namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyBytes = size_t{20} * 1024;  // S3's bucket-policy limit

enum class CondOp {
  kStringEquals,
  kStringEqualsIgnoreCase,
  kStringLike,
  kNumericEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kIpAddress,
  kNull,
};

struct OpName {
  std::string_view name;
  CondOp op;
  bool negated;
};

constexpr OpName kOps[] = {
    {"StringEquals", CondOp::kStringEquals, false},
    {"StringNotEquals", CondOp::kStringEquals, true},
    {"StringEqualsIgnoreCase", CondOp::kStringEqualsIgnoreCase, false},
    {"StringNotEqualsIgnoreCase", CondOp::kStringEqualsIgnoreCase, true},
    {"StringLike", CondOp::kStringLike, false},
    {"StringNotLike", CondOp::kStringLike, true},
    {"ArnEquals", CondOp::kStringLike, false},
    {"ArnLike", CondOp::kStringLike, false},
    {"ArnNotEquals", CondOp::kStringLike, true},
    {"ArnNotLike", CondOp::kStringLike, true},
    {"NumericEquals", CondOp::kNumericEquals, false},
    {"NumericNotEquals", CondOp::kNumericEquals, true},
    {"NumericLessThan", CondOp::kNumericLessThan, false},
    {"NumericLessThanEquals", CondOp::kNumericLessThanEquals, false},
    {"NumericGreaterThan", CondOp::kNumericGreaterThan, false},
    {"NumericGreaterThanEquals", CondOp::kNumericGreaterThanEquals, false},
    {"DateEquals", CondOp::kDateEquals, false},
    {"DateNotEquals", CondOp::kDateEquals, true},
    {"DateLessThan", CondOp::kDateLessThan, false},
    {"DateLessThanEquals", CondOp::kDateLessThanEquals, false},
    {"DateGreaterThan", CondOp::kDateGreaterThan, false},
    {"DateGreaterThanEquals", CondOp::kDateGreaterThanEquals, false},
    {"Bool", CondOp::kBool, false},
    {"IpAddress", CondOp::kIpAddress, false},
    {"NotIpAddress", CondOp::kIpAddress, true},
    {"Null", CondOp::kNull, false},
};

// An address or network, IPv4 kept as IPv4-mapped IPv6 so one comparison serves both.
struct Net {
  std::array<uint8_t, 16> addr{};
  int bits = 128;
};

std::optional<std::array<uint8_t, 16>> ParseIp(std::string_view s) {
  std::string z(s);
  std::array<uint8_t, 16> a{};
  in_addr v4{};
  if (inet_pton(AF_INET, z.c_str(), &v4) == 1) {
    a[10] = a[11] = 0xff;
    std::memcpy(a.data() + 12, &v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, z.c_str(), a.data()) == 1) return a;
  return std::nullopt;
}

std::optional<Net> ParseNet(std::string_view s) {
  size_t slash = s.find('/');
  auto ip = ParseIp(s.substr(0, slash));
  if (!ip) return std::nullopt;
  bool v4 = s.substr(0, slash).find(':') == std::string_view::npos;
  Net n{*ip, 128};
  if (slash != std::string_view::npos) {
    auto b = ParseUint(s.substr(slash + 1));
    if (!b || *b > (v4 ? 32u : 128u)) return std::nullopt;
    n.bits = static_cast<int>(*b) + (v4 ? 96 : 0);
  }
  return n;
}

bool InNet(const Net& n, const std::array<uint8_t, 16>& a) {
  int full = n.bits / 8, rest = n.bits % 8;
  if (std::memcmp(n.addr.data(), a.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (n.addr[full] & mask) == (a[full] & mask);
}

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  std::string z(s);
  char* end = nullptr;
  double d = std::strtod(z.c_str(), &end);
  if (end != z.c_str() + z.size()) return std::nullopt;
  return d;
}

// ISO 8601 or epoch seconds, as microseconds.
std::optional<int64_t> ParseDate(std::string_view s) {
  if (auto t = ParseIso8601(s)) return t;
  if (s.size() == 10 && s[4] == '-' && s[7] == '-')
    return ParseIso8601(std::string(s) + "T00:00:00Z");
  if (auto n = ParseUint(s); n && *n < (1ULL << 40)) return static_cast<int64_t>(*n) * 1000000;
  return std::nullopt;
}

// A JSON scalar as the string IAM compares ("true", "10", "abc").
std::optional<std::string> Scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_float()) return v.dump();
  return std::nullopt;
}

Status Bad(std::string why) { return Error(Err::kMalformedPolicy, std::move(why)); }

// A string, or an array of strings: the shape of Action, Resource and AWS principals.
Status StringList(const json& v, std::string_view what, std::vector<std::string>* out) {
  auto add = [&](const json& e) -> Status {
    if (!e.is_string()) return Bad(std::string(what) + " must be a string or a list of strings");
    out->push_back(e.get<std::string>());
    return Status::Ok();
  };
  if (v.is_array()) {
    if (v.empty()) return Bad(std::string(what) + " must not be empty");
    for (const auto& e : v) SLUICE_RETURN_IF_ERROR(add(e));
    return Status::Ok();
  }
  return add(v);
}

bool HasVariable(std::string_view s) { return s.find("${") != std::string_view::npos; }

// Expands ${key} policy variables; false when a variable has no value (the pattern then
// matches nothing, as in IAM).
bool Expand(std::string_view pattern, const ConditionValues* values, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < pattern.size()) {
    size_t open = pattern.find("${", i);
    if (open == std::string_view::npos) {
      out->append(pattern.substr(i));
      break;
    }
    size_t close = pattern.find('}', open);
    if (close == std::string_view::npos) {
      out->append(pattern.substr(i));
      break;
    }
    out->append(pattern.substr(i, open - i));
    std::string_view name = pattern.substr(open + 2, close - open - 2);
    if (name == "*" || name == "?" || name == "$") {
      out->append(name);
    } else {
      std::string v;
      if (!values || !values->Get(ToLower(name), &v)) return false;
      out->append(v);
    }
    i = close + 1;
  }
  return true;
}

}  // namespace

struct Policy::Statement {
  struct Condition {
    CondOp op{};
    bool negated = false;
    bool if_exists = false;
    bool for_all = false;  // ForAllValues: true when the key is absent
    std::string key;       // lowercase
    std::vector<std::string> values;
    std::vector<double> numbers;
    std::vector<int64_t> dates;
    std::vector<Net> nets;
  };
  bool allow = false;
  bool has_principal = false;
  bool not_principal = false;
  bool any_principal = false;  // "*" among the principals
  std::vector<std::string> principals;
  bool not_action = false;
  std::vector<std::string> actions;  // lowercase
  bool not_resource = false;
  std::vector<std::string> resources;
  std::vector<Condition> conditions;
};

Policy::Policy() = default;
Policy::~Policy() = default;

bool GlobMatch(std::string_view p, std::string_view t, bool fold) {
  // Iterative matching with one backtrack point: linear for patterns of '*' and literals.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  auto eq = [fold](char a, char b) {
    if (!fold) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti])))) {
      pi++;
      ti++;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') pi++;
  return pi == p.size();
}

// Every action this server can check. Kept sorted for the reader, not for lookup; built on
// first use rather than at static initialization, where a throw could not be caught.
const std::vector<std::string_view>& KnownActions() {
  static const std::vector<std::string_view> actions = {
      "s3:AbortMultipartUpload",
      "s3:CreateBucket",
      "s3:DeleteBucket",
      "s3:DeleteBucketPolicy",
      "s3:DeleteObject",
      "s3:DeleteObjectTagging",
      "s3:DeleteObjectVersion",
      "s3:GetBucketAcl",
      "s3:GetBucketCORS",
      "s3:GetBucketLocation",
      "s3:GetBucketPolicy",
      "s3:GetBucketPolicyStatus",
      "s3:GetBucketVersioning",
      "s3:GetBucketTagging",
      "s3:GetBucketWebsite",
      "s3:GetBucketLogging",
      "s3:GetBucketNotification",
      "s3:GetBucketObjectLockConfiguration",
      "s3:GetBucketOwnershipControls",
      "s3:GetBucketPublicAccessBlock",
      "s3:GetBucketRequestPayment",
      "s3:GetAccelerateConfiguration",
      "s3:GetEncryptionConfiguration",
      "s3:GetLifecycleConfiguration",
      "s3:GetReplicationConfiguration",
      "s3:GetObject",
      "s3:GetObjectAcl",
      "s3:GetObjectAttributes",
      "s3:GetObjectTagging",
      "s3:GetObjectVersion",
      "s3:ListAllMyBuckets",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:ListBucketVersions",
      "s3:ListMultipartUploadParts",
      "s3:PutBucketAcl",
      "s3:PutBucketCORS",
      "s3:PutBucketPolicy",
      "s3:PutBucketTagging",
      "s3:PutLifecycleConfiguration",
      "s3:PutObject",
      "s3:PutObjectAcl",
      "s3:PutObjectTagging",
      "s3:PutBucketVersioning",
      "s3:GetObjectVersionTagging",
      "s3:PutObjectVersionTagging",
      "s3:DeleteObjectVersionTagging",
      "s3:GetObjectVersionAcl",
      "s3:PutObjectVersionAcl",
      "s3:GetObjectVersionAttributes",
      "s3:PutObjectRetention",
      "s3:GetObjectRetention",
      "s3:PutObjectLegalHold",
      "s3:GetObjectLegalHold",
      "s3:BypassGovernanceRetention",
      "s3:PutBucketObjectLockConfiguration",
      "sts:AssumeRole",
      "sluice:GetMetrics",
  };
  return actions;
}

bool IsKnownAction(std::string_view a) {
  for (auto k : KnownActions())
    if (k.size() == a.size() && StartsWithIgnoreCase(k, a)) return true;
  return false;
}

bool IsEvaluatedConditionKey(std::string_view k) {
  static constexpr std::string_view kKeys[] = {"aws:sourceip",
                                               "aws:securetransport",
                                               "aws:currenttime",
                                               "aws:epochtime",
                                               "aws:username",
                                               "aws:userid",
                                               "aws:principaltype",
                                               "aws:principalarn",
                                               "aws:principalaccount",
                                               "aws:useragent",
                                               "aws:referer",
                                               "s3:prefix",
                                               "s3:delimiter",
                                               "s3:max-keys",
                                               "s3:x-amz-acl",
                                               "s3:x-amz-content-sha256",
                                               "s3:x-amz-copy-source",
                                               "s3:x-amz-metadata-directive",
                                               "s3:x-amz-storage-class",
                                               "s3:authtype",
                                               "s3:requestobjecttagkeys"};
  for (auto known : kKeys)
    if (k == known) return true;
  return (k.starts_with("s3:existingobjecttag/") && k.size() > 21) ||
         (k.starts_with("s3:requestobjecttag/") && k.size() > 20);
}

Result<std::shared_ptr<const Policy>> Policy::Parse(std::string_view text, PolicyKind kind,
                                                    std::string_view bucket) {
  if (text.size() > kMaxPolicyBytes)
    return Bad("Policies must be at most 20 KiB; this one has " + std::to_string(text.size()) +
               " bytes");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Bad("Policies must be valid JSON and the first byte must be '{'");
  if (!doc.is_object()) return Bad("Policies must be valid JSON and the first byte must be '{'");
  auto p = std::make_shared<Policy>();
  for (const auto& [k, v] : doc.items()) {
    if (k == "Version") {
      if (!v.is_string() || (v != "2012-10-17" && v != "2008-10-17"))
        return Bad("The policy's Version must be \"2012-10-17\" or \"2008-10-17\"");
      p->variables_ = v == "2012-10-17";
    } else if (k != "Statement" && k != "Id") {
      return Bad("Unknown field " + k);
    }
  }
  if (!doc.contains("Statement")) return Bad("Missing required field Statement");
  const json& sts = doc["Statement"];
  std::vector<json> list;
  if (sts.is_array()) {
    for (const auto& s : sts) list.push_back(s);
  } else {
    list.push_back(sts);
  }
  if (list.empty()) return Bad("Statement must not be empty");
  for (const json& s : list) {
    if (!s.is_object()) return Bad("Each Statement must be a JSON object");
    Statement st;
    bool has_effect = false, has_action = false, has_resource = false;
    for (const auto& [k, v] : s.items()) {
      if (k == "Sid") {
        if (!v.is_string()) return Bad("Sid must be a string");
      } else if (k == "Effect") {
        if (v != "Allow" && v != "Deny") return Bad("Invalid effect: " + v.dump());
        st.allow = v == "Allow";
        has_effect = true;
      } else if (k == "Principal" || k == "NotPrincipal") {
        if (kind == PolicyKind::kIdentity)
          return Bad("Has prohibited field " + k +
                     ": identity and session policies name no principal");
        st.has_principal = true;
        st.not_principal = k == "NotPrincipal";
        if (v.is_string()) {
          if (v != "*")
            return Bad("Invalid principal in policy: " + v.dump() +
                       " (use \"*\" or {\"AWS\": [...]})");
          st.any_principal = true;
        } else if (v.is_object()) {
          for (const auto& [pk, pv] : v.items()) {
            std::vector<std::string> names;
            SLUICE_RETURN_IF_ERROR(StringList(pv, "Principal", &names));
            if (pk == "AWS" || pk == "CanonicalUser") {
              for (auto& n : names) {
                if (n == "*") st.any_principal = true;
                st.principals.push_back(std::move(n));
              }
            } else if (pk != "Service" && pk != "Federated") {
              return Bad("Invalid principal in policy: unknown kind " + pk);
            }
          }
        } else {
          return Bad("Invalid principal in policy: must be \"*\" or an object");
        }
      } else if (k == "Action" || k == "NotAction") {
        if (has_action) return Bad("A statement has either Action or NotAction, not both");
        has_action = true;
        st.not_action = k == "NotAction";
        std::vector<std::string> acts;
        SLUICE_RETURN_IF_ERROR(StringList(v, k, &acts));
        for (auto& a : acts) {
          if (a != "*") {
            bool any = false;
            for (auto known : KnownActions()) any = any || GlobMatch(a, known, true);
            if (!any) return Bad("Policy has invalid action: " + a);
          }
          st.actions.push_back(ToLower(a));
        }
      } else if (k == "Resource" || k == "NotResource") {
        if (has_resource) return Bad("A statement has either Resource or NotResource, not both");
        has_resource = true;
        st.not_resource = k == "NotResource";
        SLUICE_RETURN_IF_ERROR(StringList(v, k, &st.resources));
        for (const auto& r : st.resources) {
          if (r == "*") continue;
          if (!r.starts_with("arn:aws:s3:::") && !r.starts_with("arn:aws:sts::") &&
              !r.starts_with("arn:aws:iam::"))
            return Bad("Policy has invalid resource: " + r);
          if (kind == PolicyKind::kResource && !bucket.empty()) {
            std::string_view rest = std::string_view(r).substr(13);
            std::string_view b = rest.substr(0, rest.find('/'));
            if (!GlobMatch(b, bucket))
              return Bad("Policy has invalid resource: " + r + " is not in bucket " +
                         std::string(bucket));
          }
        }
      } else if (k == "Condition") {
        if (!v.is_object()) return Bad("Condition must be an object");
        for (const auto& [opname, block] : v.items()) {
          std::string_view name = opname;
          Statement::Condition base;
          if (name.starts_with("ForAnyValue:")) {
            name.remove_prefix(12);
          } else if (name.starts_with("ForAllValues:")) {
            name.remove_prefix(13);
            base.for_all = true;
          }
          if (name.ends_with("IfExists") && name != "Null") {
            name.remove_suffix(8);
            base.if_exists = true;
          }
          const OpName* found = nullptr;
          for (const auto& o : kOps)
            if (o.name == name) found = &o;
          if (!found) return Bad("Invalid Condition type : " + opname);
          if (!block.is_object() || block.empty())
            return Bad("Condition " + opname + " must map keys to values");
          for (const auto& [ckey, cval] : block.items()) {
            Statement::Condition c = base;
            c.op = found->op;
            c.negated = found->negated;
            c.key = ToLower(ckey);
            if (!IsEvaluatedConditionKey(c.key))
              return Bad("Policy has an invalid condition key: " + ckey +
                         " (this server does not evaluate it)");
            std::vector<json> vals;
            if (cval.is_array()) {
              for (const auto& e : cval) vals.push_back(e);
            } else {
              vals.push_back(cval);
            }
            if (vals.empty()) return Bad("Condition " + opname + " on " + ckey + " has no values");
            for (const auto& e : vals) {
              auto s = Scalar(e);
              if (!s) return Bad("Condition values must be strings, numbers or booleans");
              switch (c.op) {
                case CondOp::kNumericEquals:
                case CondOp::kNumericLessThan:
                case CondOp::kNumericLessThanEquals:
                case CondOp::kNumericGreaterThan:
                case CondOp::kNumericGreaterThanEquals: {
                  auto n = ParseNumber(*s);
                  if (!n) return Bad("Invalid numeric value " + *s + " for " + opname);
                  c.numbers.push_back(*n);
                  break;
                }
                case CondOp::kDateEquals:
                case CondOp::kDateLessThan:
                case CondOp::kDateLessThanEquals:
                case CondOp::kDateGreaterThan:
                case CondOp::kDateGreaterThanEquals: {
                  auto d = ParseDate(*s);
                  if (!d) return Bad("Invalid date value " + *s + " for " + opname);
                  c.dates.push_back(*d);
                  break;
                }
                case CondOp::kIpAddress: {
                  auto n = ParseNet(*s);
                  if (!n) return Bad("Invalid IP address or CIDR " + *s + " for " + opname);
                  c.nets.push_back(*n);
                  break;
                }
                case CondOp::kBool:
                case CondOp::kNull:
                  if (*s != "true" && *s != "false")
                    return Bad("Invalid boolean value " + *s + " for " + opname);
                  break;
                default:
                  break;
              }
              c.values.push_back(std::move(*s));
            }
            st.conditions.push_back(std::move(c));
          }
        }
      } else {
        return Bad("Unknown field " + k + " in a Statement");
      }
    }
    if (!has_effect) return Bad("Missing required field Effect");
    if (!has_action) return Bad("Missing required field Action");
    if (!has_resource) return Bad("Missing required field Resource");
    if (kind == PolicyKind::kResource && !st.has_principal)
      return Bad("Missing required field Principal");
    if (st.allow && st.not_principal) return Bad("NotPrincipal may only be used with Effect Deny");
    p->statements_.push_back(std::move(st));
  }
  return std::shared_ptr<const Policy>(std::move(p));
}

namespace {

bool TestOne(const Policy::Statement::Condition& c, size_t i, std::string_view v,
             const ConditionValues* values, bool variables) {
  switch (c.op) {
    case CondOp::kStringEquals:
    case CondOp::kStringEqualsIgnoreCase:
    case CondOp::kStringLike: {
      std::string expanded;
      std::string_view pat = c.values[i];
      if (variables && HasVariable(pat)) {
        if (!Expand(pat, values, &expanded)) return false;
        pat = expanded;
      }
      if (c.op == CondOp::kStringEquals) return pat == v;
      if (c.op == CondOp::kStringEqualsIgnoreCase)
        return pat.size() == v.size() && StartsWithIgnoreCase(pat, v);
      return GlobMatch(pat, v);
    }
    case CondOp::kNumericEquals:
    case CondOp::kNumericLessThan:
    case CondOp::kNumericLessThanEquals:
    case CondOp::kNumericGreaterThan:
    case CondOp::kNumericGreaterThanEquals: {
      auto n = ParseNumber(v);
      if (!n) return false;
      double want = c.numbers[i];
      if (c.op == CondOp::kNumericEquals) return *n == want;
      if (c.op == CondOp::kNumericLessThan) return *n < want;
      if (c.op == CondOp::kNumericLessThanEquals) return *n <= want;
      if (c.op == CondOp::kNumericGreaterThan) return *n > want;
      return *n >= want;
    }
    case CondOp::kDateEquals:
    case CondOp::kDateLessThan:
    case CondOp::kDateLessThanEquals:
    case CondOp::kDateGreaterThan:
    case CondOp::kDateGreaterThanEquals: {
      auto d = ParseDate(v);
      if (!d) return false;
      int64_t want = c.dates[i];
      if (c.op == CondOp::kDateEquals) return *d == want;
      if (c.op == CondOp::kDateLessThan) return *d < want;
      if (c.op == CondOp::kDateLessThanEquals) return *d <= want;
      if (c.op == CondOp::kDateGreaterThan) return *d > want;
      return *d >= want;
    }
    case CondOp::kBool:
      return v.size() == c.values[i].size() && StartsWithIgnoreCase(v, c.values[i]);
    case CondOp::kIpAddress: {
      auto a = ParseIp(v);
      return a && InNet(c.nets[i], *a);
    }
    case CondOp::kNull:
      return false;  // handled by the caller
  }
  return false;
}

bool ConditionHolds(const Policy::Statement::Condition& c, const ConditionValues* values,
                    bool variables) {
  std::vector<std::string> got;
  bool present = values != nullptr && values->GetAll(c.key, &got);
  if (c.op == CondOp::kNull) {
    for (const auto& want : c.values)
      if ((want == "true") != present) return true;
    return false;
  }
  if (!present) return c.if_exists || c.negated || c.for_all;
  // One request value against the policy's values; then ForAllValues needs every request
  // value to hold (true for none), anything else needs one.
  auto holds = [&](const std::string& v) {
    bool any = false;
    for (size_t i = 0; i < c.values.size() && !any; i++) any = TestOne(c, i, v, values, variables);
    return c.negated ? !any : any;
  };
  if (c.for_all) return std::all_of(got.begin(), got.end(), holds);
  return std::any_of(got.begin(), got.end(), holds);
}

bool PrincipalMatches(const Policy::Statement& st, const std::vector<std::string>* who) {
  if (!st.has_principal) return true;
  bool match = st.any_principal;
  if (!match && who) {
    for (const auto& p : st.principals)
      for (const auto& w : *who)
        if (GlobMatch(p, w)) match = true;
  }
  return st.not_principal ? !match : match;
}

}  // namespace

Decision Policy::Evaluate(const PolicyRequest& r) const {
  bool allowed = false;
  std::string expanded;
  for (const auto& st : statements_) {
    if (allowed && st.allow) continue;  // only a Deny can change the answer now
    if (!PrincipalMatches(st, r.principals)) continue;
    bool act = false;
    for (const auto& a : st.actions)
      if (a == "*" || GlobMatch(a, r.action, /*fold_case=*/true)) {
        act = true;
        break;
      }
    if (act == st.not_action) continue;
    bool res = false;
    for (const auto& pat : st.resources) {
      std::string_view p = pat;
      if (variables_ && HasVariable(p)) {
        if (!Expand(p, r.values, &expanded)) continue;
        p = expanded;
      }
      if (GlobMatch(p, r.resource)) {
        res = true;
        break;
      }
    }
    if (res == st.not_resource) continue;
    bool cond = true;
    for (const auto& c : st.conditions)
      if (!ConditionHolds(c, r.values, variables_)) {
        cond = false;
        break;
      }
    if (!cond) continue;
    if (!st.allow) return Decision::kDeny;
    allowed = true;
  }
  return allowed ? Decision::kAllow : Decision::kNotApplicable;
}

bool Policy::IsPublic() const {
  static constexpr std::string_view kNarrowing[] = {
      "aws:sourceip",     "aws:sourcearn",        "aws:sourcevpc",     "aws:sourcevpce",
      "aws:sourceowner",  "aws:sourceaccount",    "aws:userid",        "aws:username",
      "aws:principalarn", "aws:principalaccount", "aws:principalorgid"};
  for (const auto& st : statements_) {
    if (!st.allow || st.not_principal || !st.any_principal) continue;
    bool narrowed = false;
    for (const auto& c : st.conditions) {
      if (c.negated || c.if_exists) continue;
      for (auto k : kNarrowing)
        if (c.key == k && std::find(c.values.begin(), c.values.end(), "*") == c.values.end())
          narrowed = true;
    }
    if (!narrowed) return true;
  }
  return false;
}

}  // namespace sluice::auth
