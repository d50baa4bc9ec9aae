// Policy parsing and evaluation, table-driven from policy_cases.json: each group gives
// the policies in force and a caller, each case a request and the expected verdict.
// compat: bucket-policy, iam-users, sts
#include "auth/policy.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/authorizer.h"
#include "auth/credentials.h"

namespace sluice::auth {
namespace {

using nlohmann::json;

class MapValues final : public ConditionValues {
 public:
  std::map<std::string, std::string> m;
  bool Get(std::string_view k, std::string* v) const override {
    auto it = m.find(std::string(k));
    if (it == m.end()) return false;
    *v = it->second;
    return true;
  }
};

json LoadCases() {
  std::ifstream in(SLUICE_POLICY_CASES);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

std::shared_ptr<const Policy> MustParse(const json& doc, PolicyKind kind) {
  auto p = Policy::Parse(doc.dump(), kind);
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << doc.dump();
  return p.ok() ? *p : nullptr;
}

// "root", "anonymous", "user:NAME", "admin:NAME", "session:NAME" ("session:" = of root).
std::shared_ptr<Identity> MakeIdentity(const std::string& who, const json& group) {
  if (who == "anonymous") return nullptr;
  auto id = std::make_shared<Identity>(*Identity::Root());
  if (who == "root") return id;
  std::string kind = who.substr(0, who.find(':'));
  std::string name = who.substr(who.find(':') + 1);
  if (kind != "session" || !name.empty()) {
    id->kind = Identity::Kind::kUser;
    id->user = name;
    id->arn = "arn:aws:iam::000000000000:user/" + name;
    id->admin = kind == "admin";
    id->principals = {id->arn};
  }
  if (group.contains("identity") && kind != "admin")
    for (const auto& p : group["identity"])
      id->policies.push_back(MustParse(p, PolicyKind::kIdentity));
  if (kind == "session") {
    id->kind = Identity::Kind::kSession;
    id->principals.push_back("arn:aws:sts::000000000000:assumed-role/" +
                             (name.empty() ? "root" : name) + "/s");
    if (group.contains("session"))
      id->session_policy = MustParse(group["session"], PolicyKind::kIdentity);
  }
  return id;
}

TEST(PolicyTable, EveryCase) {
  json all = LoadCases();
  int n = 0;
  for (const auto& g : all["groups"]) {
    std::shared_ptr<const Policy> bucket;
    if (g.contains("bucket")) bucket = MustParse(g["bucket"], PolicyKind::kResource);
    for (const auto& c : g["cases"]) {
      std::string who = c.value("who", g.value("who", "root"));
      auto id = MakeIdentity(who, g);
      MapValues values;  // what s3/authz.cc derives from the identity, then the case's own
      if (id) values.m["aws:principalarn"] = id->arn;
      if (id && !id->user.empty()) values.m["aws:username"] = id->user;
      if (c.contains("ctx"))
        for (const auto& [k, v] : c["ctx"].items()) values.m[k] = v.get<std::string>();
      std::string action = c["action"], resource = c["resource"];
      AccessRequest r{action, resource, id.get(), bucket.get(), &values, c.value("acl", false)};
      Verdict v = Authorize(r);
      std::string got = v == Verdict::kAllow          ? "allow"
                        : v == Verdict::kExplicitDeny ? "deny"
                                                      : "implicit";
      EXPECT_EQ(got, c["expect"].get<std::string>())
          << g["name"].get<std::string>() << ": " << who << " " << action << " " << resource << " "
          << (c.contains("ctx") ? c["ctx"].dump() : "");
      n++;
    }
  }
  EXPECT_GE(n, 100);
}

TEST(PolicyTable, MalformedPoliciesAreRefusedWithAReason) {
  json all = LoadCases();
  for (const auto& m : all["malformed"]) {
    PolicyKind kind = m["kind"] == "resource" ? PolicyKind::kResource : PolicyKind::kIdentity;
    auto p = Policy::Parse(m["policy"].get<std::string>(), kind, m.value("bucket", ""));
    ASSERT_FALSE(p.ok()) << m["policy"];
    EXPECT_EQ(p.status().code(), Err::kMalformedPolicy);
    EXPECT_NE(std::string(p.status().message()).find(m["error"].get<std::string>()),
              std::string::npos)
        << p.status().message() << " lacks " << m["error"];
  }
}

TEST(Glob, Matches) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*b*c", "a-b-x-c"));
  EXPECT_FALSE(GlobMatch("a*b*c", "a-b-x-"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_TRUE(GlobMatch("S3:Get*", "s3:getobject", true));
  EXPECT_FALSE(GlobMatch("S3:Get*", "s3:getobject", false));
  // Pathological patterns stay linear-ish: this would explode with naive recursion.
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(PolicyStatus, PublicUnlessNarrowed) {
  auto pub = Policy::Parse(
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]})",
      PolicyKind::kResource);
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE((*pub)->IsPublic());
  auto lan = Policy::Parse(
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]})",
      PolicyKind::kResource);
  ASSERT_TRUE(lan.ok());
  EXPECT_FALSE((*lan)->IsPublic());
  auto deny = Policy::Parse(
      R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]})",
      PolicyKind::kResource);
  ASSERT_TRUE(deny.ok());
  EXPECT_FALSE((*deny)->IsPublic());
}

}  // namespace
}  // namespace sluice::auth
