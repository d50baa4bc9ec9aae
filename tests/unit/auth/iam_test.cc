// The IAM store: users, keys, policies and sessions over an in-memory DocStore, with a
// manual clock, a failing store, and a reload from what was persisted.
#include "auth/iam.h"

#include <gtest/gtest.h>

#include "auth/sigv4.h"

namespace sluice::auth {
namespace {

class MemDocs final : public DocStore {
 public:
  std::map<std::string, std::map<std::string, std::string>> docs;
  bool fail = false;
  Status Apply(const std::vector<Write>& writes) override {
    if (fail) return Error(Err::kIoError, "injected");
    for (const auto& w : writes) {
      if (w.doc)
        docs[w.ns][w.name] = *w.doc;
      else
        docs[w.ns].erase(w.name);
    }
    return Status::Ok();
  }
  Result<std::vector<std::pair<std::string, std::string>>> List(const std::string& ns) override {
    std::vector<std::pair<std::string, std::string>> out(docs[ns].begin(), docs[ns].end());
    return out;
  }
};

class CountingRandom final : public io::Random {
 public:
  void Fill(void* buf, size_t n) override {
    auto* p = static_cast<unsigned char*>(buf);
    for (size_t i = 0; i < n; i++) p[i] = static_cast<unsigned char>(next_++ * 131 + 7);
  }

 private:
  uint64_t next_ = 1;
};

struct Fixture : ::testing::Test {
  MemDocs docs;
  io::ManualClock clock{1'700'000'000'000'000};
  CountingRandom rnd;
  SecretBox box{std::string(32, 'k'), &rnd};
  Credential root{"ROOT", "rootsecret", "owner", "root", nullptr};
  std::unique_ptr<Iam> iam = Make();
  std::unique_ptr<Iam> Make() {
    IamOptions o;
    o.min_session_seconds = 1;
    auto i = std::make_unique<Iam>(&docs, &box, &clock, &rnd, root, o);
    EXPECT_TRUE(i->Load().ok());
    return i;
  }
};

const char* kReadOnly =
    R"({"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]})";

TEST_F(Fixture, UsersKeysAndPoliciesMakeIdentities) {
  ASSERT_TRUE(iam->CreateUser("alice", false).ok());
  EXPECT_EQ(iam->CreateUser("alice", false).code(), Err::kUserAlreadyExists);
  EXPECT_EQ(iam->CreateUser("bad name", false).code(), Err::kInvalidArgument);
  auto key = iam->CreateKey("alice");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(iam->CreateKey("nobody").status().code(), Err::kNoSuchUser);
  ASSERT_TRUE(iam->PutPolicy("ro", kReadOnly).ok());
  EXPECT_EQ(iam->PutPolicy("bad", "{").code(), Err::kMalformedPolicy);
  ASSERT_TRUE(iam->AttachPolicy("alice", "ro").ok());
  EXPECT_EQ(iam->DeletePolicy("ro").code(), Err::kPolicyInUse);

  auto c = iam->Lookup(key->access_key);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->secret_key, key->secret_key);
  EXPECT_EQ(c->identity->user, "alice");
  EXPECT_EQ(c->identity->arn, "arn:aws:iam::000000000000:user/alice");
  EXPECT_FALSE(c->identity->admin);
  ASSERT_EQ(c->identity->policies.size(), 1u);
  EXPECT_TRUE(iam->Lookup("ROOT")->identity->is_root());
  EXPECT_FALSE(iam->Lookup("NOPE").has_value());

  ASSERT_TRUE(iam->SetKeyEnabled(key->access_key, false).ok());
  EXPECT_FALSE(iam->Lookup(key->access_key).has_value());
  ASSERT_TRUE(iam->SetKeyEnabled(key->access_key, true).ok());
  auto rotated = iam->RotateKey(key->access_key);
  ASSERT_TRUE(rotated.ok());
  EXPECT_FALSE(iam->Lookup(key->access_key).has_value());
  EXPECT_TRUE(iam->Lookup(rotated->access_key).has_value());

  ASSERT_TRUE(iam->DetachPolicy("alice", "ro").ok());
  EXPECT_TRUE(iam->Lookup(rotated->access_key)->identity->policies.empty());
  ASSERT_TRUE(iam->DeleteUser("alice").ok());
  EXPECT_FALSE(iam->Lookup(rotated->access_key).has_value());
  EXPECT_TRUE(docs.docs["iam-key"].empty());
}

TEST_F(Fixture, PersistsSealedAndReloads) {
  ASSERT_TRUE(iam->CreateUser("bob", true).ok());
  auto key = iam->CreateKey("bob");
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(iam->PutPolicy("ro", kReadOnly).ok());
  ASSERT_TRUE(iam->AttachPolicy("bob", "ro").ok());
  const std::string& rec = docs.docs["iam-key"][key->access_key];
  EXPECT_EQ(rec.find(key->secret_key), std::string::npos) << rec;

  auto again = Make();
  auto c = again->Lookup(key->access_key);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->secret_key, key->secret_key);
  EXPECT_TRUE(c->identity->admin);
  EXPECT_EQ(c->identity->policies.size(), 1u);

  // Another master key cannot open the records: Load fails instead of serving garbage.
  SecretBox other(std::string(32, 'x'), &rnd);
  Iam wrong(&docs, &other, &clock, &rnd, root);
  EXPECT_EQ(wrong.Load().code(), Err::kCorruption);
  // A record moved to another key name does not open either (bound by associated data).
  docs.docs["iam-key"]["SKMOVED"] = rec;
  Iam moved(&docs, &box, &clock, &rnd, root);
  EXPECT_EQ(moved.Load().code(), Err::kCorruption);
}

// Two gateways over one store: a key made or disabled through one is seen by the other
// once it reloads, as a shared index's change notification makes it do.
TEST_F(Fixture, ReloadSeesAnotherProcesssChanges) {
  auto other = Make();
  ASSERT_TRUE(iam->CreateUser("carol", false).ok());
  auto key = iam->CreateKey("carol");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(other->Lookup(key->access_key).has_value());
  ASSERT_TRUE(other->Reload().ok());
  auto c = other->Lookup(key->access_key);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->secret_key, key->secret_key);
  ASSERT_TRUE(iam->SetKeyEnabled(key->access_key, false).ok());
  ASSERT_TRUE(other->Reload().ok());
  EXPECT_FALSE(other->Lookup(key->access_key).has_value());
}

TEST_F(Fixture, AFailedWriteChangesNothing) {
  ASSERT_TRUE(iam->CreateUser("carol", false).ok());
  docs.fail = true;
  EXPECT_EQ(iam->CreateKey("carol").status().code(), Err::kIoError);
  EXPECT_EQ(iam->CreateUser("dave", false).code(), Err::kIoError);
  EXPECT_EQ(iam->DeleteUser("carol").code(), Err::kIoError);
  docs.fail = false;
  EXPECT_TRUE(iam->ListKeys("carol")->empty());
  EXPECT_EQ(iam->ListUsers().size(), 1u);
  EXPECT_TRUE(iam->GetUser("carol").ok());
}

TEST_F(Fixture, SessionsExpireAndNeedTheirToken) {
  ASSERT_TRUE(iam->CreateUser("eve", false).ok());
  auto key = iam->CreateKey("eve");
  ASSERT_TRUE(key.ok());
  auto parent = iam->Lookup(key->access_key);
  EXPECT_EQ(iam->AssumeRole(*parent->identity, key->access_key, 0, "", "job").status().code(),
            Err::kInvalidArgument);
  EXPECT_EQ(iam->AssumeRole(*parent->identity, key->access_key, 60, "{", "job").status().code(),
            Err::kMalformedPolicy);
  auto s = iam->AssumeRole(*parent->identity, key->access_key, 60, kReadOnly, "job");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto c = iam->Lookup(s->access_key);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->identity->is_session());
  EXPECT_TRUE(c->identity->session_policy != nullptr);
  // A session cannot mint another.
  EXPECT_EQ(iam->AssumeRole(*c->identity, s->access_key, 60, "", "x2").status().code(),
            Err::kAccessDenied);

  std::string token = s->session_token, none;
  auto view = [&](const std::string& t) {
    return RequestView{"GET", "/", "",
                       [&t](std::string_view n) {
                         return n == "x-amz-security-token" ? std::string_view(t)
                                                            : std::string_view();
                       },
                       nullptr};
  };
  EXPECT_TRUE(CheckSessionToken(view(token), *c, clock.NowMicros()).ok());
  EXPECT_EQ(CheckSessionToken(view(none), *c, clock.NowMicros()).code(), Err::kInvalidToken);
  EXPECT_EQ(CheckSessionToken(view("forged"), *c, clock.NowMicros()).code(), Err::kInvalidToken);
  EXPECT_EQ(CheckSessionToken(view(token), *parent, clock.NowMicros()).code(), Err::kInvalidToken);
  clock.Advance(61'000'000);
  EXPECT_EQ(CheckSessionToken(view(token), *c, clock.NowMicros()).code(), Err::kExpiredToken);
  // Survives a restart; dies with its user.
  EXPECT_TRUE(Make()->Lookup(s->access_key).has_value());
  ASSERT_TRUE(iam->DeleteUser("eve").ok());
  EXPECT_FALSE(iam->Lookup(s->access_key).has_value());
}

}  // namespace
}  // namespace sluice::auth
