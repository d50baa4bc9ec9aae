// compat: versioning
// The conformance kit for object versions in meta::Index: S3's versioning semantics, checked
// case by case and then against a small in-memory model of S3 under random operations.
// Every backend runs it (MemKv and RocksDB today; RADOS omap later).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "meta/kv/mem_kv.h"
#include "testutil/index_fixture.h"
#include "testutil/names.h"

namespace sluice::meta {
namespace {

using namespace sluice::testing_names;  // NOLINT

class IndexVersions : public IndexFixture {
 protected:
  IndexVersions() : IndexFixture(false) {}
  // Writes key with `etag` at time `now` (µs); returns the version the index named.
  VersionId Put(const std::string& key, const std::string& etag, std::string data_id = "") {
    ObjectMeta m;
    m.etag = etag;
    m.size = etag.size();
    m.mtime_micros = ++now_;
    m.version = VersionId::Of(now_, ++rand_);
    if (!data_id.empty())
      m.segments.push_back({data_id, 1, ""});
    else
      m.inline_data = "bytes of " + etag;  // small objects keep their bytes in the index
    auto r = index_->PutObject("bkt"_b, K(key), m, {}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->version : VersionId();
  }
  WriteResult Delete(const std::string& key, VersionId version = {},
                     std::vector<std::string>* released = nullptr) {
    ++now_;
    auto r = index_->DeleteObject(
        "bkt"_b, K(key),
        {version, VersionId::Of(now_, ++rand_), static_cast<int64_t>(now_), bypass_}, released);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : WriteResult();
  }
  void SetState(Versioning v) { ASSERT_TRUE(index_->SetBucketVersioning("bkt"_b, v).ok()); }
  // "key:version[*=latest][M=marker]" per entry, "[prefix]" per common prefix, "+" if truncated.
  std::string Versions(VersionListQuery q = {}) {
    auto p = index_->ListObjectVersions("bkt"_b, q);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return "error";
    std::string out;
    for (const auto& e : p->entries) {
      out += e.key + ":" + e.meta.etag + (e.is_latest ? "*" : "") +
             (e.meta.delete_marker ? "M" : "") + ",";
    }
    for (const auto& c : p->common_prefixes) out += "[" + c + "],";
    if (p->truncated) out += "+";
    return out;
  }
  std::string Latest(const std::string& key) {
    auto m = index_->GetObject("bkt"_b, K(key));
    if (!m.ok()) return std::string(ErrName(m.status().code()));
    if (!m->delete_marker && m->inline_data != "bytes of " + m->etag)
      return "bad bytes: " + m->inline_data;
    return m->delete_marker ? "marker" : m->etag;
  }

  uint64_t now_ = 1000;
  uint64_t rand_ = 0;
  bool bypass_ = false;
};

TEST_P(IndexVersions, UnversionedObjectBecomesTheNullVersion) {
  EXPECT_TRUE(Put("k", "e0").empty());  // unversioned: no version id
  EXPECT_EQ(Versions(), "k:e0*,");
  SetState(Versioning::kEnabled);
  EXPECT_EQ(index_->GetBucket("bkt"_b)->versioning, Versioning::kEnabled);
  VersionId v1 = Put("k", "e1");
  ASSERT_FALSE(v1.empty());
  EXPECT_FALSE(v1.is_null());
  EXPECT_EQ(Versions(), "k:e1*,k:e0,");
  EXPECT_EQ(index_->GetObject("bkt"_b, "k"_k, VersionId::Null())->etag, "e0");
  EXPECT_EQ(index_->GetObject("bkt"_b, "k"_k, v1)->etag, "e1");
  EXPECT_EQ(Latest("k"), "e1");
  // A well-formed id that names nothing.
  EXPECT_EQ(index_->GetObject("bkt"_b, "k"_k, VersionId::Of(5, 5)).status().code(),
            Err::kNoSuchVersion);
  EXPECT_EQ(index_->GetObject("bkt"_b, "none"_k, VersionId::Null()).status().code(),
            Err::kNoSuchVersion);
  EXPECT_EQ(index_->SetBucketVersioning("bkt"_b, Versioning::kUnversioned).code(),
            Err::kInvalidArgument);
}

TEST_P(IndexVersions, DeleteMarkersStackAndHide) {
  SetState(Versioning::kEnabled);
  Put("k", "e1");
  WriteResult d1 = Delete("k");
  EXPECT_TRUE(d1.delete_marker);
  ASSERT_FALSE(d1.version.empty());
  WriteResult d2 = Delete("k");  // markers stack
  EXPECT_EQ(Versions(), "k:*M,k:M,k:e1,");
  auto latest = index_->GetObject("bkt"_b, "k"_k);
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(latest->delete_marker);
  EXPECT_EQ(latest->version, d2.version);
  EXPECT_TRUE(index_->ListObjects("bkt"_b, {})->objects.empty());
  // A marker removed by id: the one below becomes the latest; the object reappears when
  // the last marker goes.
  WriteResult r = Delete("k", d2.version);
  EXPECT_TRUE(r.delete_marker);
  EXPECT_EQ(Latest("k"), "marker");
  Delete("k", d1.version);
  EXPECT_EQ(Latest("k"), "e1");
  EXPECT_EQ(index_->ListObjects("bkt"_b, {})->objects.size(), 1u);
  // Deleting a key that never existed still leaves a marker.
  Delete("ghost");
  EXPECT_EQ(Versions(), "ghost:*M,k:e1*,");
  // Tags cannot be set on a marker.
  EXPECT_EQ(index_->SetObjectTags("bkt"_b, "ghost"_k, {}, {}).code(), Err::kNoSuchKey);
}

TEST_P(IndexVersions, SuspendedWritesReplaceOnlyTheNullVersion) {
  SetState(Versioning::kEnabled);
  VersionId v1 = Put("k", "e1");
  SetState(Versioning::kSuspended);
  EXPECT_TRUE(Put("k", "n1").is_null());
  EXPECT_TRUE(Put("k", "n2").is_null());  // replaces n1
  EXPECT_EQ(Versions(), "k:n2*,k:e1,");
  WriteResult d = Delete("k");
  EXPECT_TRUE(d.delete_marker);
  EXPECT_TRUE(d.version.is_null());
  EXPECT_EQ(Versions(), "k:*M,k:e1,");  // the null marker replaced n2
  SetState(Versioning::kEnabled);
  VersionId v3 = Put("k", "e3");
  EXPECT_EQ(Versions(), "k:e3*,k:M,k:e1,");
  Delete("k", VersionId::Null());  // the null marker
  EXPECT_EQ(Versions(), "k:e3*,k:e1,");
  Delete("k", v3);
  EXPECT_EQ(Latest("k"), "e1");
  Delete("k", v1);
  EXPECT_EQ(Latest("k"), "kNoSuchKey");
  EXPECT_EQ(Versions(), "");
}

TEST_P(IndexVersions, VersionDataIsKeptUntilTheVersionIsDeleted) {
  SetState(Versioning::kEnabled);
  VersionId v1 = Put("k", "e1", "d1");
  Put("k", "e2", "d2");
  EXPECT_TRUE(Referenced("d1"));
  std::vector<std::string> released;
  Delete("k", {}, &released);  // a marker releases nothing
  EXPECT_TRUE(released.empty());
  EXPECT_TRUE(Referenced("d1"));
  Delete("k", v1, &released);
  EXPECT_EQ(released, std::vector<std::string>{"d1"});
  // Suspended: the null version's data goes when a new null version replaces it.
  SetState(Versioning::kSuspended);
  Put("k", "n1", "dn1");
  released.clear();
  ObjectMeta m;
  m.etag = "n2";
  m.mtime_micros = ++now_;
  ASSERT_TRUE(index_->PutObject("bkt"_b, "k"_k, m, {}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"dn1"});
  EXPECT_TRUE(Referenced("d2"));
}

TEST_P(IndexVersions, IdsSortByTimeEvenWhenTheClockStepsBack) {
  SetState(Versioning::kEnabled);
  VersionId v1 = Put("k", "e1");
  now_ -= 500;  // the clock stepped back
  VersionId v2 = Put("k", "e2");
  EXPECT_GT(v2.micros(), v1.micros());
  EXPECT_LT(v1.ToString(), v2.ToString());  // the id sorts by time as text too
  EXPECT_EQ(Latest("k"), "e2");
  auto parsed = VersionId::Parse(v2.ToString());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, v2);
  EXPECT_EQ(VersionId::Parse("xyz").status().code(), Err::kInvalidArgument);
  EXPECT_EQ(VersionId::Parse(std::string(32, '0')).status().code(), Err::kInvalidArgument);
}

TEST_P(IndexVersions, BucketWithOnlyMarkersIsNotEmpty) {
  SetState(Versioning::kEnabled);
  Put("k", "e1");
  Delete("k");
  EXPECT_TRUE(index_->ListObjects("bkt"_b, {})->objects.empty());
  EXPECT_EQ(index_->DeleteBucket("bkt"_b).code(), Err::kBucketNotEmpty);
  auto all = index_->ListObjectVersions("bkt"_b, {});
  ASSERT_TRUE(all.ok());
  for (const auto& e : all->entries) Delete(e.key, e.meta.version);
  EXPECT_TRUE(index_->DeleteBucket("bkt"_b).ok());
}

TEST_P(IndexVersions, ManyVersionsPageByMarkers) {
  SetState(Versioning::kEnabled);
  std::vector<VersionId> ids;
  for (int i = 0; i < 300; i++) ids.push_back(Put("hot", "e" + std::to_string(i)));
  Put("cold", "c");
  // Resuming after any version of "hot" continues with the next older one.
  VersionListQuery q;
  q.key_marker = "hot";
  q.version_id_marker = ids[150];
  q.max_keys = 3;
  EXPECT_EQ(Versions(q), "hot:e149,hot:e148,hot:e147,+");
  q.version_id_marker = ids[0];
  EXPECT_EQ(Versions(q), "");
  q.key_marker = "cold";
  q.version_id_marker = {};
  EXPECT_EQ(Versions(q), "hot:e299*,hot:e298,hot:e297,+");
  // Attributes of an older version change only that version.
  ASSERT_TRUE(index_->SetObjectTags("bkt"_b, "hot"_k, ids[10], {{"t", "1"}}).ok());
  EXPECT_EQ(index_->GetObject("bkt"_b, "hot"_k, ids[10])->tags.size(), 1u);
  EXPECT_TRUE(index_->GetObject("bkt"_b, "hot"_k)->tags.empty());
  ASSERT_TRUE(index_->SetObjectTags("bkt"_b, "hot"_k, {}, {{"t", "2"}}).ok());
  EXPECT_EQ(index_->GetObject("bkt"_b, "hot"_k)->tags.size(), 1u);
  EXPECT_EQ(index_->GetObject("bkt"_b, "hot"_k, ids[299])->tags.size(), 1u);
}

// compat: object-lock
TEST_P(IndexVersions, ObjectLockRefusesEveryRemoval) {
  ObjectLockConfig lock;
  lock.enabled = true;
  EXPECT_EQ(index_->SetBucketObjectLock("bkt"_b, lock).code(), Err::kInvalidBucketState);
  SetState(Versioning::kEnabled);
  ASSERT_TRUE(index_->SetBucketObjectLock("bkt"_b, lock).ok());
  EXPECT_EQ(index_->SetBucketVersioning("bkt"_b, Versioning::kSuspended).code(),
            Err::kInvalidBucketState);
  EXPECT_TRUE(index_->GetBucket("bkt"_b)->lock.enabled);

  auto put_locked = [&](const std::string& key, const std::string& mode, int64_t until, bool hold) {
    ObjectMeta m;
    m.etag = key;
    m.mtime_micros = static_cast<int64_t>(++now_);
    m.version = VersionId::Of(now_, ++rand_);
    m.segments.push_back({"data-" + key, 1, ""});
    m.retention = {mode, until};
    m.legal_hold = hold;
    auto r = index_->PutObject("bkt"_b, K(key), m, {}, nullptr);
    EXPECT_TRUE(r.ok());
    return r->version;
  };
  auto try_delete = [&](const std::string& key, VersionId v, bool bypass) {
    bypass_ = bypass;
    ++now_;
    auto r = index_->DeleteObject(
        "bkt"_b, K(key), {v, VersionId::Of(now_, ++rand_), static_cast<int64_t>(now_), bypass},
        nullptr);
    bypass_ = false;
    return r.status().code();
  };
  const int64_t later = static_cast<int64_t>(now_) + 1'000'000;
  VersionId gov = put_locked("gov", "GOVERNANCE", later, false);
  VersionId comp = put_locked("comp", "COMPLIANCE", later, false);
  VersionId held = put_locked("held", "", 0, true);
  // The lock survives a round trip through the record.
  auto back = index_->GetObject("bkt"_b, "comp"_k, comp);
  EXPECT_EQ(back->retention.mode, "COMPLIANCE");
  EXPECT_EQ(back->retention.until_micros, later);
  EXPECT_TRUE(index_->GetObject("bkt"_b, "held"_k)->legal_hold);

  EXPECT_EQ(try_delete("gov", gov, false), Err::kObjectLocked);
  EXPECT_EQ(try_delete("comp", comp, true), Err::kObjectLocked);
  EXPECT_EQ(try_delete("held", held, true), Err::kObjectLocked);
  // A delete without a version adds a marker; the locked version stays readable.
  EXPECT_EQ(try_delete("comp", {}, false), Err::kOk);
  EXPECT_EQ(index_->GetObject("bkt"_b, "comp"_k, comp)->etag, "comp");
  EXPECT_TRUE(Referenced("data-comp", "comp"));
  // Nor can the bucket go while they exist.
  EXPECT_EQ(index_->DeleteBucket("bkt"_b).code(), Err::kBucketNotEmpty);

  // Retention changes: COMPLIANCE only extends; GOVERNANCE yields to bypass.
  const int64_t now = static_cast<int64_t>(now_);
  EXPECT_EQ(
      index_->SetObjectRetention("bkt"_b, "comp"_k, comp, {"COMPLIANCE", later - 1}, true, now)
          .code(),
      Err::kObjectLocked);
  EXPECT_EQ(
      index_->SetObjectRetention("bkt"_b, "comp"_k, comp, {"GOVERNANCE", later + 5}, true, now)
          .code(),
      Err::kObjectLocked);
  EXPECT_EQ(index_->SetObjectRetention("bkt"_b, "comp"_k, comp, {}, true, now).code(),
            Err::kObjectLocked);
  EXPECT_TRUE(
      index_->SetObjectRetention("bkt"_b, "comp"_k, comp, {"COMPLIANCE", later + 5}, false, now)
          .ok());
  EXPECT_EQ(index_->SetObjectRetention("bkt"_b, "gov"_k, gov, {"GOVERNANCE", later - 1}, false, now)
                .code(),
            Err::kObjectLocked);
  EXPECT_TRUE(
      index_->SetObjectRetention("bkt"_b, "gov"_k, gov, {"GOVERNANCE", later - 1}, true, now).ok());
  EXPECT_EQ(try_delete("gov", gov, true), Err::kOk);
  // A legal hold released; a retention that has passed no longer protects.
  ASSERT_TRUE(index_->SetObjectLegalHold("bkt"_b, "held"_k, held, false).ok());
  EXPECT_EQ(try_delete("held", held, false), Err::kOk);
  now_ = static_cast<uint64_t>(later) + 10;
  EXPECT_EQ(try_delete("comp", comp, false), Err::kOk);
  EXPECT_FALSE(Referenced("data-comp", "comp"));
}

TEST_P(IndexVersions, LockCallsNeedALockedBucket) {
  Put("k", "e");
  EXPECT_EQ(index_->SetObjectLegalHold("bkt"_b, "k"_k, {}, true).code(), Err::kInvalidRequest);
  EXPECT_EQ(index_->SetObjectRetention("bkt"_b, "k"_k, {}, {"GOVERNANCE", 5000}, false, 1).code(),
            Err::kInvalidRequest);
}

// compat: snapshots
TEST_P(IndexVersions, SnapshotsPinAViewInConstantTime) {
  EXPECT_EQ(index_->CreateSnapshot("bkt"_b, "snap"_b, 5000, "o").code(), Err::kInvalidBucketState);
  Put("legacy", "l0");  // from before versioning: in every snapshot
  SetState(Versioning::kEnabled);
  Put("k", "v1");
  Put("gone", "g1");
  Put("dir/a", "a1");
  ASSERT_TRUE(index_->CreateSnapshot("bkt"_b, "snap"_b, static_cast<int64_t>(now_), "o").ok());
  EXPECT_EQ(index_->CreateSnapshot("bkt"_b, "snap"_b, static_cast<int64_t>(now_), "o").code(),
            Err::kBucketAlreadyExists);
  EXPECT_EQ(index_->CreateSnapshot("bkt"_b, "bkt"_b, static_cast<int64_t>(now_), "o").code(),
            Err::kBucketAlreadyExists);
  auto snap = index_->GetBucket("snap"_b);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->snapshot_of, "bkt");
  // A write stamped before the snapshot but committed after it is stamped after it.
  ObjectMeta late;
  late.etag = "late";
  late.mtime_micros = static_cast<int64_t>(now_) - 100;
  late.version = VersionId::Of(now_ - 100, 1);
  ASSERT_TRUE(index_->PutObject("bkt"_b, "k"_k, late, {}, nullptr).ok());
  Put("k", "v3");
  Delete("gone");
  Put("new", "n1");
  const int64_t at = snap->snapshot_at;
  EXPECT_EQ(index_->GetObjectAsOf("bkt"_b, "k"_k, at)->etag, "v1");
  EXPECT_EQ(index_->GetObjectAsOf("bkt"_b, "gone"_k, at)->etag, "g1");  // the marker is later
  EXPECT_EQ(index_->GetObjectAsOf("bkt"_b, "legacy"_k, at)->etag, "l0");
  EXPECT_EQ(index_->GetObjectAsOf("bkt"_b, "new"_k, at).status().code(), Err::kNoSuchKey);
  auto list = [&](ListQuery q) {
    q.as_of_micros = at;
    auto p = index_->ListObjects("bkt"_b, q);
    std::string out;
    for (auto& e : p->objects) out += e.key + "=" + e.meta.etag + ",";
    for (auto& c : p->common_prefixes) out += "[" + c + "],";
    if (p->truncated) out += "+" + p->next_marker;
    return out;
  };
  EXPECT_EQ(list({}), "dir/a=a1,gone=g1,k=v1,legacy=l0,");
  EXPECT_EQ(list({"", "/", "", 1000}), "gone=g1,k=v1,legacy=l0,[dir/],");
  EXPECT_EQ(list({"", "", "", 2}), "dir/a=a1,gone=g1,+gone");
  EXPECT_EQ(list({"", "", "gone", 2}), "k=v1,legacy=l0,");
  // What the snapshot shows cannot be removed; the rest can.
  auto v1 = index_->GetObjectAsOf("bkt"_b, "k"_k, at)->version;
  ++now_;
  EXPECT_EQ(index_->DeleteObject("bkt"_b, "k"_k, {v1, {}, static_cast<int64_t>(now_)}, nullptr)
                .status()
                .code(),
            Err::kVersionHeld);
  EXPECT_EQ(index_
                ->DeleteObject("bkt"_b, "legacy"_k,
                               {VersionId::Null(), {}, static_cast<int64_t>(now_)}, nullptr)
                .status()
                .code(),
            Err::kVersionHeld);
  const VersionId v3 = index_->GetObject("bkt"_b, "k"_k)->version;  // written after: removable
  EXPECT_TRUE(
      index_->DeleteObject("bkt"_b, "k"_k, {v3, {}, static_cast<int64_t>(now_)}, nullptr).ok());
  EXPECT_EQ(index_->SetBucketVersioning("bkt"_b, Versioning::kSuspended).code(),
            Err::kInvalidBucketState);
  EXPECT_EQ(index_->DeleteBucket("bkt"_b).code(), Err::kInvalidBucketState);
  EXPECT_EQ(index_->DeleteBucket("snap"_b).code(), Err::kReadOnlySnapshot);
  // Removing the snapshot releases its versions.
  ASSERT_TRUE(index_->DeleteSnapshot("snap"_b).ok());
  EXPECT_EQ(index_->GetBucket("snap"_b).status().code(), Err::kNoSuchBucket);
  EXPECT_EQ(index_->DeleteSnapshot("bkt"_b).code(), Err::kInvalidRequest);
  EXPECT_TRUE(
      index_->DeleteObject("bkt"_b, "k"_k, {v1, {}, static_cast<int64_t>(now_)}, nullptr).ok());
}

// ---- the model ----------------------------------------------------------------------

struct ModelVersion {
  std::string id;  // "null" or the index's id
  std::string etag;
  bool marker = false;
};

class Model {
 public:
  Versioning state = Versioning::kUnversioned;
  std::map<std::string, std::vector<ModelVersion>> keys;  // newest first

  void Put(const std::string& key, const std::string& id, const std::string& etag) {
    auto& v = keys[key];
    if (state != Versioning::kEnabled) DropNull(v);
    v.insert(v.begin(), {state == Versioning::kEnabled ? id : "null", etag, false});
  }
  void Delete(const std::string& key, const std::string& marker_id) {
    auto& v = keys[key];
    if (state == Versioning::kUnversioned) {
      v.clear();
    } else {
      if (state == Versioning::kSuspended) DropNull(v);
      v.insert(v.begin(), {state == Versioning::kEnabled ? marker_id : "null", "", true});
    }
    if (v.empty()) keys.erase(key);
  }
  void DeleteVersion(const std::string& key, const std::string& id) {
    auto it = keys.find(key);
    if (it == keys.end()) return;
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(), [&](const ModelVersion& m) { return m.id == id; }),
            v.end());
    if (v.empty()) keys.erase(it);
  }
  // The same rendering as the test's Versions(), over everything.
  std::string Render(const std::string& prefix, const std::string& delim) const {
    std::string out, cps;
    std::set<std::string> seen;
    for (const auto& [k, vs] : keys) {
      if (!k.starts_with(prefix)) continue;
      if (!delim.empty()) {
        size_t pos = k.find(delim, prefix.size());
        if (pos != std::string::npos) {
          std::string cp = k.substr(0, pos + delim.size());
          if (seen.insert(cp).second) cps += "[" + cp + "],";
          continue;
        }
      }
      bool first = true;
      for (const auto& v : vs) {
        out += k + ":" + v.etag + (first ? "*" : "") + (v.marker ? "M" : "") + "/" + v.id + ",";
        first = false;
      }
    }
    return out + cps;
  }

 private:
  static void DropNull(std::vector<ModelVersion>& v) {
    v.erase(
        std::remove_if(v.begin(), v.end(), [](const ModelVersion& m) { return m.id == "null"; }),
        v.end());
  }
};

// Every page of a listing, concatenated in the model's rendering (entries and prefixes are
// kept apart, as the model renders common prefixes last).
std::string ListAllPages(Index* index, const std::string& prefix, const std::string& delim,
                         uint32_t max_keys, int* pages) {
  std::string out, cps;
  VersionListQuery q;
  q.prefix = prefix;
  q.delimiter = delim;
  q.max_keys = max_keys;
  *pages = 0;
  for (int guard = 0; guard < 10000; guard++) {
    auto p = index->ListObjectVersions("bkt"_b, q);
    if (!p.ok()) return "error: " + p.status().ToString();
    ++*pages;
    if (p->entries.size() + p->common_prefixes.size() > max_keys) return "page too long";
    for (const auto& e : p->entries)
      out += e.key + ":" + e.meta.etag + (e.is_latest ? "*" : "") +
             (e.meta.delete_marker ? "M" : "") + "/" + e.meta.version.ToString() + ",";
    for (const auto& c : p->common_prefixes) cps += "[" + c + "],";
    if (!p->truncated) return out + cps;
    q.key_marker = p->next_key_marker;
    q.version_id_marker = p->next_version_id_marker;
  }
  return "never ended";
}

// The bucket's usage, kept by every commit, is what the model holds: current objects are
// latest versions that are not markers; stored versions are every version but markers.
void ExpectUsage(Index* index, const Model& model, const std::string& when) {
  BucketUsage want;
  for (const auto& [k, vs] : model.keys) {
    if (!vs[0].marker) {
      want.objects++;
      want.bytes += static_cast<int64_t>(vs[0].etag.size());
    }
    for (const auto& v : vs) {
      if (v.marker) continue;
      want.versions++;
      want.version_bytes += static_cast<int64_t>(v.etag.size());
    }
  }
  auto got = index->GetBucketUsage("bkt"_b);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->objects, want.objects) << when;
  EXPECT_EQ(got->bytes, want.bytes) << when;
  EXPECT_EQ(got->versions, want.versions) << when;
  EXPECT_EQ(got->version_bytes, want.version_bytes) << when;
}

TEST_P(IndexVersions, RandomOperationsMatchTheModel) {
  auto ExpectUsage = [this](const Model& model, const std::string& when) {
    ::sluice::meta::ExpectUsage(index_.get(), model, when);
  };
  const std::vector<std::string> kKeys = {"a", "a/b", "a/c", "b", "c/d/e", "c/x", "d"};
  for (uint32_t seed = 1; seed <= 6; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    // A fresh bucket per seed.
    std::string bucket_reset;
    TearDown();
    SetUp();
    std::mt19937 rng(seed);
    Model model;
    int etag_n = 0;
    // Halfway through, a snapshot freezes the view: key -> (version id, etag) of its latest.
    std::optional<std::map<std::string, std::pair<std::string, std::string>>> frozen;
    std::map<std::string, std::string> held_ids;  // key -> the version (or marker) it shows
    int64_t frozen_at = 0;
    for (int step = 0; step < 120; step++) {
      const std::string& key = kKeys[rng() % kKeys.size()];
      int op = static_cast<int>(rng() % 100);
      if (step == 60 && model.state == Versioning::kEnabled) {
        frozen_at = static_cast<int64_t>(++now_);
        ASSERT_TRUE(index_->CreateSnapshot("bkt"_b, "snap"_b, frozen_at, "o").ok());
        frozen.emplace();
        for (const auto& [k, vs] : model.keys) {
          held_ids[k] = vs[0].id;
          if (!vs[0].marker) (*frozen)[k] = {vs[0].id, vs[0].etag};
        }
      }
      if (op < 45) {
        std::string etag = "e" + std::to_string(++etag_n);
        VersionId v = Put(key, etag);
        model.Put(key, v.ToString(), etag);
      } else if (op < 65) {
        WriteResult d = Delete(key);
        model.Delete(key, d.version.ToString());
      } else if (op < 85) {
        // Delete one version: an existing one (by id) or, sometimes, one that never was.
        auto it = model.keys.find(key);
        if (it != model.keys.end() && rng() % 4 != 0) {
          const auto& vs = it->second;
          std::string id = vs[rng() % vs.size()].id;
          auto parsed = VersionId::Parse(id);
          ASSERT_TRUE(parsed.ok());
          auto held = held_ids.find(key);
          if (held != held_ids.end() && held->second == id) {
            ++now_;
            auto r = index_->DeleteObject("bkt"_b, K(key),
                                          {*parsed, {}, static_cast<int64_t>(now_)}, nullptr);
            ASSERT_EQ(r.status().code(), Err::kVersionHeld) << key << "@" << id;
          } else {
            Delete(key, *parsed);
            model.DeleteVersion(key, id);
          }
        } else {
          Delete(key, VersionId::Of(7, 7));
        }
      } else if (op < 93) {
        SetState(Versioning::kEnabled);
        model.state = Versioning::kEnabled;
      } else if (frozen) {
        EXPECT_EQ(index_->SetBucketVersioning("bkt"_b, Versioning::kSuspended).code(),
                  Err::kInvalidBucketState);
      } else if (model.state != Versioning::kUnversioned) {
        SetState(Versioning::kSuspended);
        model.state = Versioning::kSuspended;
      }
      if (step % 10 != 9) continue;
      // The latest of every key, and the plain listing.
      std::string live;
      for (const auto& k : kKeys) {
        auto it = model.keys.find(k);
        std::string want = "kNoSuchKey";
        if (it != model.keys.end()) want = it->second[0].marker ? "marker" : it->second[0].etag;
        ASSERT_EQ(Latest(k), want) << k << " at step " << step;
        if (want != "kNoSuchKey" && want != "marker") live += k + ",";
      }
      ExpectUsage(model, "step " + std::to_string(step));
      if (step == 119) {  // counted from the records, the figures are the same
        ASSERT_TRUE(index_->RecountUsage("bkt"_b).ok());
        ExpectUsage(model, "recounted");
      }
      std::string listed;
      auto page = index_->ListObjects("bkt"_b, {});
      ASSERT_TRUE(page.ok());
      for (const auto& e : page->objects) listed += e.key + ",";
      ASSERT_EQ(listed, live) << "step " << step;
      // Every version reads back whole by its id (the latest's bytes are kept once, in O).
      for (const auto& [k, vs] : model.keys) {
        for (const auto& v : vs) {
          auto id = VersionId::Parse(v.id);
          ASSERT_TRUE(id.ok());
          auto got = index_->GetObject("bkt"_b, K(k), *id);
          ASSERT_TRUE(got.ok()) << k << "@" << v.id << ": " << got.status().ToString();
          ASSERT_EQ(got->delete_marker, v.marker) << k << "@" << v.id;
          if (!v.marker) {
            ASSERT_EQ(got->inline_data, "bytes of " + v.etag) << k << "@" << v.id;
          }
        }
      }
      // The snapshot still shows what it froze, through reads and paged listings.
      if (frozen) {
        std::string want;
        for (const auto& k : kKeys) {
          auto f = frozen->find(k);
          auto got = index_->GetObjectAsOf("bkt"_b, K(k), frozen_at);
          if (f == frozen->end()) {
            ASSERT_EQ(got.status().code(), Err::kNoSuchKey) << k;
          } else {
            ASSERT_TRUE(got.ok()) << k;
            ASSERT_EQ(got->etag, f->second.second) << k;
            ASSERT_EQ(got->inline_data, "bytes of " + f->second.second) << k;
          }
        }
        for (const auto& [k, v] : *frozen) want += k + ",";
        for (uint32_t max = 1; max <= 7; max++) {
          std::string listed_view;
          ListQuery q;
          q.max_keys = max;
          q.as_of_micros = frozen_at;
          for (int guard = 0; guard < 100; guard++) {
            auto p = index_->ListObjects("bkt"_b, q);
            ASSERT_TRUE(p.ok());
            for (const auto& e : p->objects) listed_view += e.key + ",";
            if (!p->truncated) break;
            q.start_after = p->next_marker;
          }
          ASSERT_EQ(listed_view, want) << "snapshot listing, max-keys " << max << " step " << step;
        }
      }
      // Every version exactly once, in order, whatever the page size.
      for (const auto& [prefix, delim] : std::vector<std::pair<std::string, std::string>>{
               {"", ""}, {"", "/"}, {"a", ""}, {"c/", "/"}}) {
        std::string want = model.Render(prefix, delim);
        int pages = 0;
        ASSERT_EQ(ListAllPages(index_.get(), prefix, delim, 1000, &pages), want)
            << "prefix " << prefix << " delim " << delim << " step " << step;
        for (uint32_t max = 1; max <= 7; max++)
          ASSERT_EQ(ListAllPages(index_.get(), prefix, delim, max, &pages), want)
              << "max-keys " << max << " prefix " << prefix << " delim " << delim;
      }
    }
  }
}

// Replication queue: a PENDING version is queued in the write that makes it; the queue
// keeps write order; ending a task sets the version's status and drops the task together.
TEST_P(IndexVersions, PendingVersionsAreQueuedWithTheWriteAndEndedWithTheirStatus) {
  SetState(Versioning::kEnabled);
  auto put = [&](const std::string& key, const std::string& etag, bool replicate) {
    ObjectMeta m;
    m.etag = etag;
    m.mtime_micros = ++now_;
    m.version = VersionId::Of(now_, ++rand_);
    m.inline_data = "bytes of " + etag;
    if (replicate) m.replication_status = kReplicationPending;
    auto r = index_->PutObject("bkt"_b, K(key), m, {}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->version : VersionId();
  };
  VersionId a1 = put("a", "a1", true);
  put("b", "b1", false);  // not selected by a rule: nothing queued
  VersionId b2 = put("b", "b2", true);
  VersionId a2 = put("a", "a2", true);
  ++now_;
  DeleteRequest del{{}, VersionId::Of(now_, ++rand_), static_cast<int64_t>(now_), false};
  del.replicate_marker = true;
  auto marker = index_->DeleteObject("bkt"_b, K("a"), del, nullptr);
  ASSERT_TRUE(marker.ok());

  auto q = index_->ListReplicationQueue("bkt"_b, "", 100);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[0].key.str(), "a");
  EXPECT_EQ((*q)[0].version, a1);
  EXPECT_EQ((*q)[1].version, b2);
  EXPECT_EQ((*q)[2].version, a2);
  EXPECT_EQ((*q)[3].version, marker->version);
  EXPECT_EQ(index_->GetObject("bkt"_b, K("a"), a1)->replication_status, "PENDING");
  // Pages continue after a task's id.
  auto rest = index_->ListReplicationQueue("bkt"_b, (*q)[1].id, 100);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].version, a2);

  // Ending: the status lands on the version (and the current copy of the latest).
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, (*q)[2], kReplicationCompleted).ok());
  EXPECT_EQ(index_->GetObject("bkt"_b, K("a"), a2)->replication_status, "COMPLETED");
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, (*q)[1], kReplicationFailed).ok());
  EXPECT_EQ(index_->GetObject("bkt"_b, K("b"))->replication_status, "FAILED");
  EXPECT_EQ(index_->GetObject("bkt"_b, K("b"))->inline_data, "bytes of b2");
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, (*q)[3], kReplicationCompleted).ok());
  auto m = index_->GetObject("bkt"_b, K("a"), marker->version);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->delete_marker);
  EXPECT_EQ(m->replication_status, "COMPLETED");
  // Ending twice changes nothing; a version removed meanwhile just drops its task.
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, (*q)[3], kReplicationFailed).ok());
  EXPECT_EQ(index_->GetObject("bkt"_b, K("a"), marker->version)->replication_status, "COMPLETED");
  Delete("a", a1);
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, (*q)[0], kReplicationCompleted).ok());
  EXPECT_TRUE(index_->ListReplicationQueue("bkt"_b, "", 100)->empty());

  // A resync queues an existing version again.
  ASSERT_TRUE(index_->QueueReplication("bkt"_b, K("b"), b2).ok());
  EXPECT_EQ(index_->GetObject("bkt"_b, K("b"))->replication_status, "PENDING");
  EXPECT_EQ(index_->ListReplicationQueue("bkt"_b, "", 100)->size(), 1u);
  EXPECT_EQ(index_->QueueReplication("bkt"_b, K("b"), VersionId::Of(1, 1)).code(),
            Err::kNoSuchVersion);
  // A bucket's queue goes with it.
  ASSERT_TRUE(index_->DeleteObject("bkt"_b, K("b"), {b2, {}, 0, false}, nullptr).ok());
  auto left = index_->ListObjectVersions("bkt"_b, {});
  ASSERT_TRUE(left.ok());
  for (const auto& v : left->entries)
    ASSERT_TRUE(
        index_->DeleteObject("bkt"_b, K(v.key), {v.meta.version, {}, 0, false}, nullptr).ok());
  ASSERT_TRUE(index_->DeleteBucket("bkt"_b).ok());
  ASSERT_TRUE(index_->CreateBucket({BucketName::Trusted("bkt"), 1, "o", "us-east-1"}).ok());
  EXPECT_TRUE(index_->ListReplicationQueue("bkt"_b, "", 100)->empty());
}

TEST_P(IndexVersions, NewTagsOfAReplicatedVersionAreQueuedInTheSameStep) {
  SetState(Versioning::kEnabled);
  auto put = [&](const std::string& key, const std::string& status) {
    ObjectMeta m;
    m.etag = "e";
    m.mtime_micros = ++now_;
    m.version = VersionId::Of(now_, ++rand_);
    m.inline_data = "x";
    m.replication_status = status;
    auto r = index_->PutObject("bkt"_b, K(key), m, {}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->version : VersionId();
  };
  const HeaderList t1{{"stage", "eval"}}, t2{{"stage", "prod"}};
  // Copied, then tagged: a tags-only task, the version PENDING again.
  VersionId a = put("a", kReplicationPending);
  auto q = index_->ListReplicationQueue("bkt"_b, "", 10);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_FALSE((*q)[0].tags_only);
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, (*q)[0], kReplicationCompleted).ok());
  ASSERT_TRUE(index_->SetObjectTags("bkt"_b, K("a"), a, t1).ok());
  q = index_->ListReplicationQueue("bkt"_b, "", 10);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_TRUE((*q)[0].tags_only);
  EXPECT_EQ((*q)[0].version, a);
  EXPECT_EQ(index_->GetObject("bkt"_b, K("a"))->replication_status, "PENDING");
  EXPECT_EQ(index_->GetObject("bkt"_b, K("a"))->tags, t1);
  // Tagged again while that task runs: ending the running task leaves the newer one.
  const ReplicationTask running = (*q)[0];
  ASSERT_TRUE(index_->SetObjectTags("bkt"_b, K("a"), a, t2).ok());
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, running, kReplicationCompleted).ok());
  q = index_->ListReplicationQueue("bkt"_b, "", 10);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_TRUE((*q)[0].tags_only);
  EXPECT_EQ(index_->GetObject("bkt"_b, K("a"))->replication_status, "PENDING");
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, (*q)[0], kReplicationCompleted).ok());
  EXPECT_TRUE(index_->ListReplicationQueue("bkt"_b, "", 10)->empty());
  EXPECT_EQ(index_->GetObject("bkt"_b, K("a"))->replication_status, "COMPLETED");
  // Not yet copied: the queued copy stays a whole copy (it reads the tags when it runs).
  VersionId b = put("b", kReplicationPending);
  ASSERT_TRUE(index_->SetObjectTags("bkt"_b, K("b"), b, t1).ok());
  q = index_->ListReplicationQueue("bkt"_b, "", 10);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_FALSE((*q)[0].tags_only);
  ASSERT_TRUE(index_->FinishReplication("bkt"_b, (*q)[0], kReplicationCompleted).ok());
  // FAILED (waits for a resync), REPLICA (never replicated) and unselected: nothing queued.
  for (const char* status : {kReplicationFailed, kReplicationReplica, ""}) {
    VersionId v = put("c", status);
    ASSERT_TRUE(index_->SetObjectTags("bkt"_b, K("c"), v, t2).ok());
    EXPECT_TRUE(index_->ListReplicationQueue("bkt"_b, "", 10)->empty()) << status;
    EXPECT_EQ(index_->GetObject("bkt"_b, K("c"), v)->replication_status, status);
  }
}

TEST_P(IndexVersions, AReplicaKeepsItsIdOnce) {
  SetState(Versioning::kEnabled);
  ObjectMeta m;
  m.etag = "e";
  m.inline_data = "x";
  m.mtime_micros = 5;
  m.version = VersionId::Of(5, 7);
  m.replication_status = kReplicationReplica;
  auto r = index_->PutObject("bkt"_b, K("k"), m, {}, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, m.version);
  EXPECT_EQ(index_->PutObject("bkt"_b, K("k"), m, {}, nullptr).status().code(),
            Err::kAlreadyExists);
  DeleteRequest del{{}, VersionId::Of(9, 1), 9, false};
  del.replica = true;
  auto d = index_->DeleteObject("bkt"_b, K("k"), del, nullptr);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->version, del.marker);
  EXPECT_EQ(index_->GetObject("bkt"_b, K("k"), del.marker)->replication_status, "REPLICA");
  EXPECT_EQ(index_->DeleteObject("bkt"_b, K("k"), del, nullptr).status().code(),
            Err::kAlreadyExists);
  EXPECT_EQ(index_->ListObjectVersions("bkt"_b, {})->entries.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, IndexVersions, IndexBackends(), BackendName);

}  // namespace
}  // namespace sluice::meta
