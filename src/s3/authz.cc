#include "s3/authz.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "auth/authorizer.h"
#include "common/strings.h"
#include "s3/headers.h"
#include "s3/parse.h"

namespace sluice::s3 {
namespace {

// Bucket configurations this server does not hold, and the actions that read and change
// them (GET answers "not configured", DELETE is a no-op; both still need the permission).
struct SubresourceActions {
  std::string_view sub, get, put;
};
constexpr SubresourceActions kSubresources[] = {
    {"website", "s3:GetBucketWebsite", "s3:PutBucketWebsite"},
    {"logging", "s3:GetBucketLogging", "s3:PutBucketLogging"},
    {"notification", "s3:GetBucketNotification", "s3:PutBucketNotification"},
    {"replication", "s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration"},
    {"encryption", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"},
    {"requestPayment", "s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment"},
    {"accelerate", "s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration"},
    {"tagging", "s3:GetBucketTagging", "s3:PutBucketTagging"},
};

std::string Arn(std::string_view bucket, std::string_view key) {
  std::string arn = "arn:aws:s3:::";
  if (bucket.empty()) {
    arn += '*';
    return arn;
  }
  arn.append(bucket);
  if (!key.empty()) arn.append("/").append(key);
  return arn;
}

bool IsObjectAction(std::string_view a) {
  return a == "s3:GetObject" || a == "s3:PutObject" || a == "s3:DeleteObject" ||
         a == "s3:AbortMultipartUpload" || a == "s3:ListMultipartUploadParts" ||
         a == "s3:GetObjectAcl" || a == "s3:PutObjectAcl" || a == "s3:GetObjectTagging" ||
         a == "s3:PutObjectTagging" || a == "s3:DeleteObjectTagging" ||
         a == "s3:GetObjectAttributes" || a == "s3:GetObjectVersion" ||
         a == "s3:DeleteObjectVersion" || a == "s3:GetObjectVersionTagging" ||
         a == "s3:PutObjectVersionTagging" || a == "s3:DeleteObjectVersionTagging" ||
         a == "s3:GetObjectVersionAcl" || a == "s3:PutObjectVersionAcl" ||
         a == "s3:GetObjectVersionAttributes" || a == "s3:PutObjectRetention" ||
         a == "s3:GetObjectRetention" || a == "s3:PutObjectLegalHold" ||
         a == "s3:GetObjectLegalHold" || a == "s3:BypassGovernanceRetention" ||
         a == "s3:ReplicateObject" || a == "s3:ReplicateDelete";
}

// What a canned ACL grants (READ on a bucket lists it; READ on an object reads it; WRITE
// on a bucket writes and deletes its objects).
bool BucketAclGrants(std::string_view acl, std::string_view action, bool authenticated) {
  if (acl.empty()) return false;
  bool read = action == "s3:ListBucket" || action == "s3:ListBucketVersions" ||
              action == "s3:ListBucketMultipartUploads";
  bool write = action == "s3:PutObject" || action == "s3:DeleteObject";
  if (acl == "public-read") return read;
  if (acl == "public-read-write") return read || write;
  if (acl == "authenticated-read") return read && authenticated;
  return false;
}

bool ObjectAclGrants(std::string_view acl, std::string_view action, bool authenticated) {
  if (action != "s3:GetObject" && action != "s3:GetObjectVersion") return false;
  return acl == "public-read" || acl == "public-read-write" ||
         (acl == "authenticated-read" && authenticated);
}

// The request context condition keys are read from. Computed on demand: most policies
// have no conditions, so nothing here runs on their requests.
class RequestValues final : public auth::ConditionValues {
 public:
  RequestValues(const Ctx& ctx, std::string_view action, const std::string& bucket,
                const std::string& key)
      : ctx_(ctx), action_(action), bucket_(bucket), key_(key) {}

  bool GetAll(std::string_view k, std::vector<std::string>* out) const override {
    if (k != "s3:requestobjecttagkeys") return ConditionValues::GetAll(k, out);
    const meta::HeaderList* tags = RequestTags();
    if (!tags) return false;
    for (const auto& [name, value] : *tags) out->push_back(name);
    return true;
  }

  bool Get(std::string_view k, std::string* v) const override {
    // Tag keys after the slash match case-insensitively (condition keys arrive lowercased).
    auto tag = [&](const meta::HeaderList* tags, std::string_view name) {
      if (!tags) return false;
      for (const auto& [tk, tv] : *tags)
        if (EqualsIgnoreCase(tk, name)) {
          *v = tv;
          return true;
        }
      return false;
    };
    if (k.starts_with("s3:existingobjecttag/")) return tag(ExistingTags(), k.substr(21));
    if (k.starts_with("s3:requestobjecttag/")) return tag(RequestTags(), k.substr(20));
    if (k == "s3:requestobjecttagkeys") {
      std::vector<std::string> keys;
      if (!GetAll(k, &keys) || keys.empty()) return false;
      *v = keys.front();
      return true;
    }
    const auth::Identity* id = ctx_.auth.credential.identity.get();
    auto header = [&](std::string_view name) {
      if (!ctx_.req.has_header(name)) return false;
      *v = std::string(ctx_.req.header(name));
      return true;
    };
    auto query = [&](std::string_view name) {
      if (action_ != "s3:ListBucket" && action_ != "s3:ListBucketVersions") return false;
      if (!ctx_.query.Has(name)) return false;
      *v = std::string(ctx_.query.Get(name));
      return true;
    };
    if (k == "aws:sourceip") {
      *v = ctx_.req.remote_ip;
      if (v->starts_with("::ffff:")) v->erase(0, 7);
      return !v->empty();
    }
    if (k == "aws:securetransport") {
      *v = ctx_.req.secure ? "true" : "false";
      return true;
    }
    if (k == "aws:currenttime") {
      *v = FormatIso8601(ctx_.svc.clock->NowMicros());
      return true;
    }
    if (k == "aws:epochtime") {
      *v = std::to_string(ctx_.svc.clock->NowMicros() / 1000000);
      return true;
    }
    if (k == "aws:username") {
      if (!id || id->user.empty()) return false;
      *v = id->user;
      return true;
    }
    if (k == "aws:userid") {
      if (!id) return false;
      *v = id->user.empty() ? auth::kAccountId : id->user;
      return true;
    }
    if (k == "aws:principaltype") {
      *v = !id                ? "Anonymous"
           : id->is_session() ? "AssumedRole"
           : id->is_root()    ? "Account"
                              : "User";
      return true;
    }
    if (k == "aws:principalarn") {
      if (!id) return false;
      *v = id->arn;
      return true;
    }
    if (k == "aws:principalaccount") {
      if (!id) return false;
      *v = auth::kAccountId;
      return true;
    }
    if (k == "aws:useragent") return header("user-agent");
    if (k == "aws:referer") return header("referer");
    if (k == "s3:prefix") return query("prefix");
    if (k == "s3:delimiter") return query("delimiter");
    if (k == "s3:max-keys") return query("max-keys");
    if (k == "s3:x-amz-acl") return header("x-amz-acl");
    if (k == "s3:x-amz-content-sha256") return header("x-amz-content-sha256");
    if (k == "s3:x-amz-copy-source") return header("x-amz-copy-source");
    if (k == "s3:x-amz-metadata-directive") return header("x-amz-metadata-directive");
    if (k == "s3:x-amz-storage-class") return header("x-amz-storage-class");
    if (k == "s3:authtype") {
      if (!id) return false;
      *v = ctx_.auth.presigned ? "REST-QUERY-STRING" : "REST-HEADER";
      return true;
    }
    return false;
  }

 private:
  // The tags of the object the request acts on (ExistingObjectTag applies to actions on
  // an existing object; absent when there is none). Reading them takes an index call,
  // which cannot be awaited here: the first evaluation notes that they were wanted, and
  // Decide reads them and evaluates again.
  const meta::HeaderList* ExistingTags() const {
    if (key_.empty() || !IsObjectAction(action_)) return nullptr;
    if (!existing_loaded_) wanted_existing_ = true;
    return existing_ ? &*existing_ : nullptr;
  }

 public:
  bool wanted_existing() const { return wanted_existing_ && !existing_loaded_; }
  void SetExisting(std::optional<meta::HeaderList> tags) {
    existing_ = std::move(tags);
    existing_loaded_ = true;
  }

 private:
  // The tags the request sets: read by the operation from its body, or x-amz-tagging.
  const meta::HeaderList* RequestTags() const {
    if (ctx_.request_tags) return &*ctx_.request_tags;
    if (!ctx_.req.has_header("x-amz-tagging")) return nullptr;
    if (!header_tags_) {
      auto t = ParseTaggingHeader(ctx_.req.header("x-amz-tagging"));
      header_tags_ = t.ok() ? std::move(t).value() : meta::HeaderList();
    }
    return &*header_tags_;
  }

  const Ctx& ctx_;
  std::string_view action_;
  const std::string& bucket_;
  const std::string& key_;
  mutable std::optional<meta::HeaderList> existing_, header_tags_;
  bool existing_loaded_ = false;
  mutable bool wanted_existing_ = false;
};

std::string WhoIs(const Ctx& ctx);

// Root and admins without a session policy pass at once on a bucket without a policy
// (entry null: none read, or no bucket): the common case builds nothing.
bool AdminPassesAtOnce(const auth::Identity* id, const BucketAccessEntry* entry) {
  return id && id->admin && !id->session_policy && (!entry || !entry->policy);
}

Task<auth::Verdict> Decide(Ctx& ctx, std::string_view action, const std::string& bucket,
                           const std::string& key, const std::string& resource,
                           const BucketAccessCache::Entry* entry);

// Allowed, or kAccessDenied (logged with the identity, action and resource when
// `log_denial`). Awaits only what the request has not read yet: the bucket's access entry
// for a bucket other than the request's own, and the object when a condition or an object
// ACL needs it.
Task<Status> Check(Ctx& ctx, std::string_view action, const std::string& bucket,
                   const std::string& key, bool log_denial) {
  const auth::Identity* id = ctx.auth.credential.identity.get();
  const BucketAccessCache::Entry* entry = AccessOfOwnBucket(ctx, bucket);
  std::shared_ptr<const BucketAccessCache::Entry> other;  // another bucket's, held here
  if (!entry && ctx.svc.access && !bucket.empty()) {
    auto e = co_await ctx.svc.access->Get(bucket);
    if (!e.ok()) {
      // Fail closed, with the reason: a store that cannot answer (503, retryable) is not
      // a denial, and a client told 403 would not retry.
      spdlog::error("bucket {}: cannot read its access configuration: {}", bucket,
                    e.status().ToString());
      co_return e.status();
    }
    other = std::move(e).value();
    entry = other.get();
  }
  if (AdminPassesAtOnce(id, entry)) co_return Status::Ok();
  const std::string resource =
      Arn(bucket, IsObjectAction(action) ? std::string_view(key) : std::string_view());
  const auth::Verdict v = co_await Decide(ctx, action, bucket, key, resource, entry);
  if (v == auth::Verdict::kAllow) co_return Status::Ok();
  if (log_denial)
    spdlog::info("access denied ({}): {} may not {} on {} [request {}]",
                 v == auth::Verdict::kExplicitDeny ? "explicit deny" : "no statement allows it",
                 WhoIs(ctx), action, resource, ctx.request_id);
  co_return Error(Err::kAccessDenied, "Access Denied");
}

// The verdict of the policies and ACLs on one request for bucket/key.
Task<auth::Verdict> Decide(Ctx& ctx, std::string_view action, const std::string& bucket,
                           const std::string& key, const std::string& resource,
                           const BucketAccessCache::Entry* entry) {
  const auth::Identity* id = ctx.auth.credential.identity.get();
  RequestValues values(ctx, action, bucket, key);
  // ACL grants count unless ACLs are disabled (BucketOwnerEnforced) or public ones ignored
  // (every grant a canned ACL makes is public). RestrictPublicBuckets: a public bucket
  // policy admits no anonymous caller.
  const bool acls_count = entry && !entry->acls_disabled && !entry->block.ignore_public_acls;
  const auth::Policy* policy = entry ? entry->policy.get() : nullptr;
  if (policy && !id && entry->block.restrict_public_buckets && policy->IsPublic()) policy = nullptr;
  auth::AccessRequest r{action,  resource,
                        id,      policy,
                        &values, acls_count && BucketAclGrants(entry->acl, action, id != nullptr)};
  auth::Verdict v = auth::Authorize(r);
  // Names reaching authorization were validated (handler.cc, ChecksOf).
  std::optional<Result<meta::ObjectMeta>> object;
  auto read_object = [&]() -> Task<const Result<meta::ObjectMeta>*> {
    if (!object) {
      VersionId version;  // the request's version when it reads its own key
      if (key == ctx.key.str()) version = ctx.version;
      object.emplace(co_await ctx.svc.index->GetObject(BucketName::Trusted(bucket),
                                                       ObjectKey::Trusted(key), version));
    }
    co_return &*object;
  };
  if (values.wanted_existing()) {  // a condition on the object's own tags: read, then again
    const Result<meta::ObjectMeta>* m = co_await read_object();
    values.SetExisting(m->ok() && !(*m)->delete_marker ? std::optional((*m)->tags) : std::nullopt);
    v = auth::Authorize(r);
  }
  if (v == auth::Verdict::kImplicitDeny &&
      (action == "s3:GetObject" || action == "s3:GetObjectVersion") && !key.empty() &&
      (!entry || acls_count)) {
    // An object's own canned ACL (of the version read) may grant the read.
    const Result<meta::ObjectMeta>* m = co_await read_object();
    if (m->ok() && ObjectAclGrants((*m)->acl, action, id != nullptr)) v = auth::Verdict::kAllow;
  }
  co_return v;
}

std::string WhoIs(const Ctx& ctx) {
  const auth::Identity* id = ctx.auth.credential.identity.get();
  if (!id) return "anonymous";
  return id->arn + " (key " + ctx.auth.credential.access_key + ")";
}

}  // namespace

Task<Status> Require(Ctx& ctx, std::string_view action, const std::string& bucket,
                     const std::string& key) {
  return Check(ctx, action, bucket, key, /*log_denial=*/true);  // no frame of its own
}

uint64_t BucketAccessCache::NextId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

// The thread's own map. Reached through a call, never held across a suspension: the
// coroutine may resume on another thread.
BucketAccessCache::Local& BucketAccessCache::Tl() {
  thread_local Local tl;
  return tl;
}

std::shared_ptr<const BucketAccessCache::Entry> BucketAccessCache::Cached(const std::string& bucket,
                                                                          uint64_t gen) {
  Local& tl = Tl();
  if (tl.cache != id_ || tl.generation != gen) {
    tl.map.clear();
    tl.cache = id_;
    tl.generation = gen;
  }
  auto it = tl.map.find(bucket);
  return it == tl.map.end() ? nullptr : it->second;
}

void BucketAccessCache::Keep(const std::string& bucket, uint64_t gen,
                             std::shared_ptr<const Entry> e) {
  Local& tl = Tl();
  // This thread's map may hold another generation (or another cache's entries) by now.
  if (tl.cache == id_ && tl.generation == gen) tl.map[bucket] = std::move(e);
}

Task<Result<std::shared_ptr<const BucketAccessCache::Entry>>> BucketAccessCache::Get(
    const std::string& bucket) {
  using Out = std::shared_ptr<const Entry>;
  const uint64_t gen = generation_.load(std::memory_order_acquire);
  if (Out hit = Cached(bucket, gen)) co_return hit;

  // A miss reads the index, which may suspend: the thread-local map is touched again only
  // after the reads, and only if nothing was invalidated meanwhile.
  auto e = std::make_shared<Entry>();
  const BucketName name = BucketName::Trusted(bucket);  // validated by every caller
  auto doc = co_await index_->GetBucketConfig(name, "policy");
  if (doc.ok()) {
    auto p = auth::Policy::Parse(*doc, auth::PolicyKind::kResource);
    if (!p.ok())
      co_return Error(Err::kCorruption,
                      "stored bucket policy: " + std::string(p.status().message()));
    e->policy = std::move(p).value();
  } else if (doc.status().code() == Err::kNoSuchBucket) {
    co_return Out(std::move(e));  // not cached: the bucket may be created
  } else if (doc.status().code() != Err::kNotFound) {
    co_return doc.status();
  }
  auto acl = co_await index_->GetBucketConfig(name, "acl");
  if (acl.ok()) {
    e->acl = *acl;
  } else if (acl.status().code() != Err::kNotFound && acl.status().code() != Err::kNoSuchBucket) {
    co_return acl.status();
  }
  auto block = co_await index_->GetBucketConfig(name, kPublicAccessBlockConfig);
  if (block.ok()) {
    auto b = DecodePublicAccessBlock(*block);
    if (!b) co_return Error(Err::kCorruption, "stored public access block: " + *block);
    e->block = *b;
  } else if (block.status().code() != Err::kNotFound &&
             block.status().code() != Err::kNoSuchBucket) {
    co_return block.status();
  }
  auto info = co_await index_->GetBucket(name);
  if (info.ok() && !info->snapshot_of.empty())
    e->snapshot = Entry::Snapshot{BucketName::Trusted(info->snapshot_of), info->snapshot_at};
  else if (!info.ok() && info.status().code() != Err::kNoSuchBucket)
    co_return info.status();
  auto lifecycle = co_await index_->GetBucketConfig(name, kLifecycleConfig);
  if (lifecycle.ok()) {
    auto c = ParseLifecycle(*lifecycle);
    if (!c.ok())
      co_return Error(Err::kCorruption,
                      "stored lifecycle configuration: " + std::string(c.status().message()));
    e->lifecycle = std::make_shared<const LifecycleConfig>(std::move(c).value());
  } else if (lifecycle.status().code() != Err::kNotFound &&
             lifecycle.status().code() != Err::kNoSuchBucket) {
    co_return lifecycle.status();
  }
  auto replication = co_await index_->GetBucketConfig(name, kReplicationConfig);
  if (replication.ok()) {
    auto c = ParseReplication(*replication);
    if (!c.ok())
      co_return Error(Err::kCorruption,
                      "stored replication configuration: " + std::string(c.status().message()));
    e->replication = std::make_shared<const ReplicationConfig>(std::move(c).value());
  } else if (replication.status().code() != Err::kNotFound &&
             replication.status().code() != Err::kNoSuchBucket) {
    co_return replication.status();
  }
  auto sse = co_await index_->GetBucketConfig(name, "encryption");
  if (sse.ok()) {
    e->default_sse = true;
  } else if (sse.status().code() != Err::kNotFound && sse.status().code() != Err::kNoSuchBucket) {
    co_return sse.status();
  }
  auto owner = co_await index_->GetBucketConfig(name, kOwnershipConfig);
  if (owner.ok()) {
    e->acls_disabled = *owner == "BucketOwnerEnforced";
  } else if (owner.status().code() != Err::kNotFound &&
             owner.status().code() != Err::kNoSuchBucket) {
    co_return owner.status();
  }
  // A change that raced with this read bumped the generation: answer, but do not keep it.
  if (generation_.load(std::memory_order_acquire) != gen) co_return Out(std::move(e));
  Keep(bucket, gen, e);
  co_return Out(std::move(e));
}

BucketAccessCache::BucketAccessCache(meta::AsyncIndex* index) : index_(index) {
  index->backend().Subscribe([this](const meta::Index::Change& c) {
    if (c.kind == meta::Index::Change::Kind::kBucket) Invalidate(c.name);
  });
}

void BucketAccessCache::Invalidate(const std::string&) {
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::string_view VersionAction(std::string_view action) {
  static constexpr std::pair<std::string_view, std::string_view> kMap[] = {
      {"s3:GetObject", "s3:GetObjectVersion"},
      {"s3:DeleteObject", "s3:DeleteObjectVersion"},
      {"s3:GetObjectTagging", "s3:GetObjectVersionTagging"},
      {"s3:PutObjectTagging", "s3:PutObjectVersionTagging"},
      {"s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"},
      {"s3:GetObjectAcl", "s3:GetObjectVersionAcl"},
      {"s3:PutObjectAcl", "s3:PutObjectVersionAcl"},
      {"s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"},
  };
  for (const auto& [plain, versioned] : kMap)
    if (action == plain) return versioned;
  return action;
}

std::string_view ActionOf(Op op, std::string_view sub) {
  switch (op) {
    case Op::kListBuckets:
      return "s3:ListAllMyBuckets";
    case Op::kCreateBucket:
      return "s3:CreateBucket";
    case Op::kHeadBucket:
      return "s3:ListBucket";
    case Op::kDeleteBucket:
      return "s3:DeleteBucket";
    case Op::kGetBucketLocation:
      return "s3:GetBucketLocation";
    case Op::kGetBucketVersioning:
      return "s3:GetBucketVersioning";
    case Op::kPutBucketVersioning:
      return "s3:PutBucketVersioning";
    case Op::kListObjects:
    case Op::kListObjectsV2:
    case Op::kGetBucketUsage:
      return "s3:ListBucket";
    case Op::kListMultipartUploads:
      return "s3:ListBucketMultipartUploads";
    case Op::kDeleteObjects:
      return "s3:DeleteObject";
    case Op::kBatchGet:
      return "s3:GetObject";
    case Op::kPutObject:
    case Op::kCopyObject:
    case Op::kCreateMultipartUpload:
    case Op::kUploadPart:
    case Op::kUploadPartCopy:
    case Op::kCompleteMultipartUpload:
    case Op::kPostObject:
      return "s3:PutObject";
    case Op::kGetObject:
    case Op::kHeadObject:
      return "s3:GetObject";
    case Op::kGetObjectMember:
    case Op::kListObjectMembers:
      return "s3:GetObject";
    case Op::kDeleteObject:
      return "s3:DeleteObject";
    case Op::kAbortMultipartUpload:
      return "s3:AbortMultipartUpload";
    case Op::kListParts:
      return "s3:ListMultipartUploadParts";
    case Op::kPutObjectTagging:
      return "s3:PutObjectTagging";
    case Op::kGetObjectTagging:
      return "s3:GetObjectTagging";
    case Op::kDeleteObjectTagging:
      return "s3:DeleteObjectTagging";
    case Op::kGetBucketSubresource:
    case Op::kDeleteBucketSubresource:
      for (const auto& s : kSubresources)
        if (s.sub == sub) return op == Op::kGetBucketSubresource ? s.get : s.put;
      return "s3:PutBucketPolicy";  // unreachable for routed requests: admin-only
    case Op::kGetBucketAcl:
      return "s3:GetBucketAcl";
    case Op::kPutBucketAcl:
      return "s3:PutBucketAcl";
    case Op::kGetObjectAcl:
      return "s3:GetObjectAcl";
    case Op::kPutObjectAcl:
      return "s3:PutObjectAcl";
    case Op::kListObjectVersions:
      return "s3:ListBucketVersions";
    case Op::kPutBucketCors:
    case Op::kDeleteBucketCors:
      return "s3:PutBucketCORS";
    case Op::kGetBucketCors:
      return "s3:GetBucketCORS";
    case Op::kPutBucketEncryption:
    case Op::kDeleteBucketEncryption:
      return "s3:PutEncryptionConfiguration";
    case Op::kGetBucketEncryption:
      return "s3:GetEncryptionConfiguration";
    case Op::kPreflight:
      return "";
    case Op::kGetObjectAttributes:
      return "s3:GetObjectAttributes";
    case Op::kPutObjectLockConfiguration:
      return "s3:PutBucketObjectLockConfiguration";
    case Op::kGetObjectLockConfiguration:
      return "s3:GetBucketObjectLockConfiguration";
    case Op::kPutObjectRetention:
      return "s3:PutObjectRetention";
    case Op::kGetObjectRetention:
      return "s3:GetObjectRetention";
    case Op::kPutObjectLegalHold:
      return "s3:PutObjectLegalHold";
    case Op::kGetObjectLegalHold:
      return "s3:GetObjectLegalHold";
    case Op::kPutBucketLifecycle:
    case Op::kDeleteBucketLifecycle:
      return "s3:PutLifecycleConfiguration";
    case Op::kPutBucketReplication:
    case Op::kDeleteBucketReplication:
      return "s3:PutReplicationConfiguration";
    case Op::kGetBucketReplication:
      return "s3:GetReplicationConfiguration";
    case Op::kGetBucketLifecycle:
      return "s3:GetLifecycleConfiguration";
    case Op::kPutBucketPolicy:
      return "s3:PutBucketPolicy";
    case Op::kGetBucketPolicy:
      return "s3:GetBucketPolicy";
    case Op::kDeleteBucketPolicy:
      return "s3:DeleteBucketPolicy";
    case Op::kGetBucketPolicyStatus:
      return "s3:GetBucketPolicyStatus";
    case Op::kPutPublicAccessBlock:
    case Op::kDeletePublicAccessBlock:
      return "s3:PutBucketPublicAccessBlock";
    case Op::kGetPublicAccessBlock:
      return "s3:GetBucketPublicAccessBlock";
    case Op::kPutBucketOwnershipControls:
    case Op::kDeleteBucketOwnershipControls:
      return "s3:PutBucketOwnershipControls";
    case Op::kGetBucketOwnershipControls:
      return "s3:GetBucketOwnershipControls";
  }
  return "";
}

namespace {

// The checks a routed operation needs: its own action on bucket/key, and for some the ACL
// write or the copy source's read. None for those an operation checks itself. A plain
// function: AuthorizeRequest awaits the checks, in one frame.
struct Needed {
  std::string_view action;
  const std::string* bucket = nullptr;
  const std::string* key = nullptr;
};
struct RouteChecks {
  Needed needed[3];
  int count = 0;
  std::string src_bucket, src_key;  // the copy source's, which needed[] may point at
};

Status ChecksOf(Ctx& ctx, const Route& route, RouteChecks* out) {
  static const std::string kNone;
  switch (route.op) {
    case Op::kListBuckets:
      // Filtered per bucket by the operation; anonymous callers have no bucket list.
      if (!ctx.auth.credential.identity)
        out->needed[out->count++] = {"s3:ListAllMyBuckets", &kNone, &kNone};
      return Status::Ok();
    case Op::kDeleteObjects:
      return Status::Ok();  // s3:DeleteObject is checked per key by the operation
    case Op::kBatchGet:
      return Status::Ok();  // s3:GetObject(Version) per key, by the operation
    case Op::kPreflight:
      return Status::Ok();
    case Op::kPutObjectTagging:
      // Checked by the operation once it has read the tags from the body, which
      // s3:RequestObjectTag conditions test (ops/tagging.cc).
      return Status::Ok();
    default:
      break;
  }
  std::string_view action = ActionOf(route.op, route.subresource);
  if (!ctx.version.empty()) action = VersionAction(action);
  out->needed[out->count++] = {action, &ctx.bucket.str(), &ctx.key.str()};
  // Writing a canned ACL also needs the ACL permission, as in S3.
  if ((route.op == Op::kPutObject || route.op == Op::kCopyObject ||
       route.op == Op::kCreateMultipartUpload) &&
      ctx.req.has_header("x-amz-acl"))
    out->needed[out->count++] = {"s3:PutObjectAcl", &ctx.bucket.str(), &ctx.key.str()};
  if (route.op == Op::kCopyObject || route.op == Op::kUploadPartCopy) {
    std::string_view source = ctx.req.header("x-amz-copy-source");
    auto [src_bucket, src_key] = SplitCopySource(source);
    std::string_view src_action = source.find("versionId=") != std::string_view::npos
                                      ? "s3:GetObjectVersion"
                                      : "s3:GetObject";
    if (!src_key.empty()) {
      SLUICE_RETURN_IF_ERROR(ValidateBucketName(src_bucket));
      SLUICE_RETURN_IF_ERROR(ValidateObjectKey(src_key));
      out->src_bucket = std::string(src_bucket);
      out->src_key = std::string(src_key);
      out->needed[out->count++] = {src_action, &out->src_bucket, &out->src_key};
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsGetOfObject(Op op) { return op == Op::kGetObject || op == Op::kHeadObject; }

bool AllowedWithoutChecks(const Ctx& ctx, const Route& route) {
  if (route.op == Op::kCopyObject || route.op == Op::kUploadPartCopy) return false;
  // Check's own rule, on the entry the handler read; when it could not, Check reads again.
  if (ctx.svc.access && !ctx.bucket.empty() && !ctx.access) return false;
  return AdminPassesAtOnce(ctx.auth.credential.identity.get(), ctx.access.get());
}

Task<Status> AuthorizeRequest(Ctx& ctx, const Route& route) {
  RouteChecks checks;
  Status st = ChecksOf(ctx, route, &checks);
  for (int i = 0; st.ok() && i < checks.count; i++) {
    const Needed& n = checks.needed[i];
    st = co_await Require(ctx, n.action, *n.bucket, *n.key);
  }
  if (st.code() != Err::kAccessDenied || ctx.bucket.empty() || route.op == Op::kCreateBucket)
    co_return st;
  // Existence before permission where S3 answers it so: bucket names are global and no
  // secret, so a missing bucket is 404 for anyone; a missing key is 404 for a caller who may
  // list the bucket (who could see that anyway), and stays 403 for everyone else.
  auto bucket = co_await ctx.svc.index->GetBucket(ctx.bucket);
  if (!bucket.ok()) {
    if (bucket.status().code() != Err::kNoSuchBucket) co_return st;
    ctx.error_fields = {{"BucketName", ctx.bucket}};
    co_return Error(Err::kNoSuchBucket, "The specified bucket does not exist");
  }
  // No co_await inside && or ?: anywhere in the S3 layer: GCC 12 miscompiles it (SIGILL in
  // the coroutine's actor). One awaited statement at a time.
  if (!IsGetOfObject(route.op) || ctx.key.empty()) co_return st;
  auto object = co_await ctx.svc.index->GetObject(ctx.bucket, ctx.key, ctx.version);
  if (object.status().code() != Err::kNoSuchKey) co_return st;
  const bool may_list = co_await IsAllowed(ctx, "s3:ListBucket", ctx.bucket, "");
  if (may_list) co_return Error(Err::kNoSuchKey, "The specified key does not exist.");
  co_return st;
}

Task<Status> HideMissingKey(Ctx& ctx, Op op, Status st) {
  if (st.code() != Err::kNoSuchKey || !IsGetOfObject(op)) co_return st;
  const bool may_list = co_await IsAllowed(ctx, "s3:ListBucket", ctx.bucket, "");
  if (may_list) co_return st;
  ctx.error_headers.clear();  // not even that a delete marker is there
  co_return Error(Err::kAccessDenied, "Access Denied");
}

std::string EncodePublicAccessBlock(const PublicAccessBlock& b) {
  std::string s;
  for (bool f : {b.block_public_acls, b.ignore_public_acls, b.block_public_policy,
                 b.restrict_public_buckets})
    s += f ? '1' : '0';
  return s;
}

std::optional<PublicAccessBlock> DecodePublicAccessBlock(std::string_view s) {
  if (s.size() != 4 || s.find_first_not_of("01") != std::string_view::npos) return std::nullopt;
  return PublicAccessBlock{s[0] == '1', s[1] == '1', s[2] == '1', s[3] == '1'};
}

Task<Status> CheckAclWrite(Ctx& ctx, const std::string& bucket, std::string_view acl) {
  if (!ctx.svc.access) co_return Status::Ok();
  const BucketAccessEntry* e = AccessOfOwnBucket(ctx, bucket);
  std::shared_ptr<const BucketAccessEntry> other;
  if (!e) {
    SLUICE_CO_ASSIGN_OR_RETURN(other, co_await ctx.svc.access->Get(bucket));
    e = other.get();
  }
  if (e->acls_disabled && !acl.empty())
    co_return Error(Err::kAccessControlListNotSupported,
                    "The bucket does not allow ACLs (its ObjectOwnership is BucketOwnerEnforced)");
  const bool is_public =
      acl == "public-read" || acl == "public-read-write" || acl == "authenticated-read";
  if (e->block.block_public_acls && is_public)
    co_return Error(Err::kAccessDenied,
                    "Access Denied (the bucket's public access block refuses public ACLs)");
  co_return Status::Ok();
}

Task<bool> IsAllowed(Ctx& ctx, std::string_view action, const std::string& bucket,
                     const std::string& key) {
  const Status s = co_await Check(ctx, action, bucket, key, /*log_denial=*/false);
  co_return s.ok();
}

const BucketAccessEntry* AccessOfOwnBucket(const Ctx& ctx, std::string_view bucket) {
  if (!ctx.access || bucket.empty() || bucket != ctx.bucket.str()) return nullptr;
  return ctx.access.get();
}

Task<Status> LoadAccess(Ctx& ctx) {
  if (!ctx.svc.access || ctx.bucket.empty()) co_return Status::Ok();
  auto e = co_await ctx.svc.access->Get(ctx.bucket);
  if (!e.ok()) co_return e.status();
  ctx.access = std::move(e).value();
  co_return Status::Ok();
}

}  // namespace sluice::s3
