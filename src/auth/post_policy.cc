#include "auth/post_policy.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "auth/sigv4.h"
#include "common/hash.h"
#include "common/strings.h"

namespace sluice::auth {
namespace {

using json = nlohmann::json;

Status Invalid(std::string_view why) {
  return Error(Err::kInvalidPolicyDocument, "Invalid Policy: " + std::string(why));
}

Status Failed(const PostCondition& c) {
  return Error(Err::kAccessDenied,
               "Invalid according to Policy: Policy Condition failed: " + c.text);
}

std::string Field(std::string_view name) {
  std::string f = ToLower(name);
  if (!f.empty() && f[0] == '$') f.erase(0, 1);
  return f;
}

std::string_view Get(const FormFields& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string_view() : std::string_view(it->second);
}

bool Equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Fields no condition needs to name.
bool Exempt(const std::string& f) {
  return f == "policy" || f == "x-amz-signature" || f == "signature" || f == "awsaccesskeyid" ||
         f == "file" || f.starts_with("x-ignore-");
}

}  // namespace

Result<PostPolicy> ParsePostPolicy(std::string_view policy_b64) {
  auto text = Base64Decode(Trim(policy_b64));
  if (!text) return Invalid("the policy is not base64");
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Invalid("Invalid JSON.");
  PostPolicy out;
  auto exp = doc.find("expiration");
  if (exp == doc.end() || !exp->is_string()) return Invalid("Policy missing expiration.");
  auto when = ParseIso8601(exp->get<std::string>());
  if (!when) return Invalid("Invalid 'expiration' value: '" + exp->get<std::string>() + "'");
  out.expiration_micros = *when;
  auto conds = doc.find("conditions");
  if (conds == doc.end() || !conds->is_array()) return Invalid("Policy missing conditions.");
  for (const auto& c : *conds) {
    PostCondition pc{};
    pc.text = c.dump();
    if (c.is_object()) {
      if (c.size() != 1 || !c.begin().value().is_string())
        return Invalid("Condition is not a single name and string value: " + pc.text);
      pc.kind = PostCondition::kEq;
      pc.field = Field(c.begin().key());
      pc.value = c.begin().value().get<std::string>();
    } else if (c.is_array() && c.size() == 3 && c[0].is_string()) {
      std::string op = ToLower(c[0].get<std::string>());
      if (op == "content-length-range") {
        if (!c[1].is_number_unsigned() || !c[2].is_number_unsigned() ||
            c[1].get<uint64_t>() > c[2].get<uint64_t>())
          return Invalid("Invalid content-length-range: " + pc.text);
        pc.kind = PostCondition::kLengthRange;
        pc.min = c[1].get<uint64_t>();
        pc.max = c[2].get<uint64_t>();
      } else if ((op == "eq" || op == "starts-with") && c[1].is_string() && c[2].is_string()) {
        std::string f = c[1].get<std::string>();
        if (f.empty() || f[0] != '$')
          return Invalid("Condition field must start with '$': " + pc.text);
        pc.kind = op == "eq" ? PostCondition::kEq : PostCondition::kStartsWith;
        pc.field = Field(f);
        pc.value = c[2].get<std::string>();
      } else {
        return Invalid("Unknown condition: " + pc.text);
      }
    } else {
      return Invalid("Condition is neither an object nor a three-element list: " + pc.text);
    }
    out.conditions.push_back(std::move(pc));
  }
  return out;
}

Result<Credential> VerifyPostSignature(const FormFields& fields, const CredentialStore* creds) {
  std::string_view policy = Get(fields, "policy");
  if (fields.count("x-amz-signature")) {
    if (Get(fields, "x-amz-algorithm") != "AWS4-HMAC-SHA256")
      return Error(Err::kInvalidArgument, "x-amz-algorithm must be AWS4-HMAC-SHA256");
    // AK/date/region/service/aws4_request
    std::string_view cred = Get(fields, "x-amz-credential");
    std::vector<std::string_view> parts;
    while (true) {
      size_t slash = cred.find('/');
      parts.push_back(cred.substr(0, slash));
      if (slash == std::string_view::npos) break;
      cred.remove_prefix(slash + 1);
    }
    if (parts.size() != 5 || parts[4] != "aws4_request" || parts[3] != "s3" || parts[1].size() != 8)
      return Error(Err::kInvalidArgument, "x-amz-credential is not AK/date/region/s3/aws4_request");
    std::string_view date = Get(fields, "x-amz-date");
    if (!ParseAmzDate(date) || date.substr(0, 8) != parts[1])
      return Error(Err::kInvalidArgument,
                   "x-amz-date must be the credential's date as YYYYMMDDTHHMMSSZ");
    auto c = creds->Lookup(std::string(parts[0]));
    if (!c) return Error(Err::kInvalidAccessKeyId, "");
    std::string key = DeriveSigningKey(c->secret_key, parts[1], parts[2], "s3");
    if (policy.empty()) return Error(Err::kInvalidArgument, "a signed form needs its policy");
    if (!Equal(HexEncode(HmacSha256(key, policy)), ToLower(Get(fields, "x-amz-signature"))))
      return Error(Err::kSignatureDoesNotMatch, "");
    return *c;
  }
  if (fields.count("signature") || fields.count("awsaccesskeyid")) {
    auto c = creds->Lookup(std::string(Get(fields, "awsaccesskeyid")));
    if (!c) return Error(Err::kInvalidAccessKeyId, "");
    if (policy.empty()) return Error(Err::kInvalidArgument, "a signed form needs its policy");
    if (!Equal(Base64Encode(HmacSha1(c->secret_key, policy)), Get(fields, "signature")))
      return Error(Err::kSignatureDoesNotMatch, "");
    return *c;
  }
  return Error(Err::kAccessDenied,
               "Anonymous POST uploads need a bucket policy, which this bucket lacks.");
}

Result<std::optional<std::pair<uint64_t, uint64_t>>> CheckPostPolicy(const PostPolicy& policy,
                                                                     const FormFields& fields,
                                                                     std::string_view bucket,
                                                                     int64_t now_micros) {
  if (now_micros >= policy.expiration_micros)
    return Error(Err::kAccessDenied, "Invalid according to Policy: Policy expired.");
  std::optional<std::pair<uint64_t, uint64_t>> range;
  std::map<std::string, bool> covered;
  for (const auto& c : policy.conditions) {
    if (c.kind == PostCondition::kLengthRange) {
      range = {c.min, c.max};
      continue;
    }
    covered[c.field] = true;
    std::string_view have = c.field == "bucket" ? bucket : Get(fields, c.field);
    if (c.kind == PostCondition::kEq) {
      if (have != c.value) return Failed(c);
    } else if (c.field == "content-type") {
      // Each of a comma-separated list of types must start with the prefix.
      std::string_view rest = have;
      do {
        size_t comma = rest.find(',');
        if (!Trim(rest.substr(0, comma)).starts_with(c.value)) return Failed(c);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      } while (!rest.empty());
    } else if (!have.starts_with(c.value)) {
      return Failed(c);
    }
  }
  for (const auto& [name, value] : fields) {
    if (Exempt(name) || covered.count(name)) continue;
    return Error(Err::kAccessDenied, "Invalid according to Policy: Extra input fields: " + name);
  }
  return range;
}

}  // namespace sluice::auth
