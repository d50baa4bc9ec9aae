#include "meta/kv/codec.h"

#include <algorithm>

namespace sluice::meta::codec {
namespace {

constexpr uint8_t kFormatV1 = 1;
constexpr uint64_t kHasVersion = 1, kNullFlag = 2, kMarkerFlag = 4, kInlineInCurrent = 8;

class Writer {
 public:
  Writer() { out_.push_back(static_cast<char>(kFormatV1)); }
  void U64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
  }
  void Headers(const HeaderList& h) {
    U64(h.size());
    for (const auto& [k, v] : h) {
      Str(k);
      Str(v);
    }
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Version() {
    if (in_.empty() || static_cast<uint8_t>(in_[0]) != kFormatV1) return false;
    in_.remove_prefix(1);
    return true;
  }
  bool U64(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool U32(uint32_t* v) {
    uint64_t x;
    if (!U64(&x) || x > UINT32_MAX) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t x;
    if (!U64(&x)) return false;
    *v = static_cast<int64_t>(x);
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n;
    if (!U64(&n) || n > in_.size()) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool AtEnd() const { return in_.empty(); }
  bool SkipStr() {
    uint64_t n;
    if (!U64(&n) || n > in_.size()) return false;
    in_.remove_prefix(n);
    return true;
  }
  bool SkipHeaders() {
    uint64_t n;
    if (!U64(&n) || n > in_.size()) return false;
    for (uint64_t i = 0; i < n; i++)
      if (!SkipStr() || !SkipStr()) return false;
    return true;
  }
  bool Headers(HeaderList* h) {
    uint64_t n;
    if (!U64(&n) || n > in_.size()) return false;
    h->resize(n);
    for (auto& [k, v] : *h)
      if (!Str(&k) || !Str(&v)) return false;
    return true;
  }

  size_t left() const { return in_.size(); }

 private:
  std::string_view in_;
};

Status Corrupt(const char* what) { return Status(Err::kCorruption, std::string("bad ") + what); }

std::string Join(char space, std::initializer_list<std::string_view> parts) {
  std::string k(1, space);
  bool first = true;
  for (auto p : parts) {
    if (!first) k.push_back('\0');
    k.append(p);
    first = false;
  }
  return k;
}

}  // namespace

std::string BucketKey(std::string_view bucket) { return Join(kBucket, {bucket}); }
std::string ObjectPrefix(std::string_view bucket) { return Join(kObject, {bucket, ""}); }
std::string ObjectKey(std::string_view bucket, std::string_view key) {
  return Join(kObject, {bucket, key});
}
std::string ConfigPrefix(std::string_view bucket) { return Join(kConfig, {bucket, ""}); }
std::string ConfigKey(std::string_view bucket, std::string_view name) {
  return Join(kConfig, {bucket, name});
}
std::string DocPrefix(std::string_view ns) { return Join(kDoc, {ns, ""}); }
std::string DocKey(std::string_view ns, std::string_view name) { return Join(kDoc, {ns, name}); }
std::string UploadPrefix(std::string_view bucket) { return Join(kUpload, {bucket, ""}); }
std::string UploadKey(std::string_view bucket, std::string_view key, std::string_view upload_id) {
  return Join(kUpload, {bucket, key, upload_id});
}
std::string PartPrefix(std::string_view upload_id) { return Join(kPart, {upload_id, ""}); }
std::string PartKey(std::string_view upload_id, uint32_t part) {
  std::string k = PartPrefix(upload_id);
  for (int i = 3; i >= 0; i--) k.push_back(static_cast<char>((part >> (8 * i)) & 0xff));
  return k;
}
std::string VersionPrefix(std::string_view bucket) { return Join(kVersion, {bucket, ""}); }
std::string VersionKeyPrefix(std::string_view bucket, std::string_view key) {
  return Join(kVersion, {bucket, key, ""});
}
namespace {
void PutU64BE(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}
uint64_t GetU64BE(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}
}  // namespace
std::string VersionKey(std::string_view bucket, std::string_view key, const VersionId& v) {
  std::string k = VersionKeyPrefix(bucket, key);
  PutU64BE(&k, ~v.micros());
  PutU64BE(&k, v.rand());
  return k;
}
std::string NullVersionKey(std::string_view bucket, std::string_view key) {
  return Join(kNullVersion, {bucket, key});
}
std::string LatestMarkerKey(std::string_view bucket, std::string_view key) {
  return Join(kLatestMarker, {bucket, key});
}
std::string SnapshotPrefix(std::string_view source) { return Join(kSnapshotOf, {source, ""}); }
std::string SnapshotKey(std::string_view source, std::string_view name) {
  return Join(kSnapshotOf, {source, name});
}
std::string ReplicationPrefix(std::string_view bucket) { return Join(kReplication, {bucket, ""}); }
std::string ReplicationKey(std::string_view bucket, const VersionId& v, std::string_view key) {
  std::string out = ReplicationPrefix(bucket);
  PutU64BE(&out, v.micros());
  PutU64BE(&out, v.rand());
  out.append(key);
  return out;
}
std::string EncodeReplication(const VersionId& v, bool tags_only, uint64_t changes) {
  std::string out;
  if (tags_only) out.push_back('t');
  out.push_back(v.is_null() ? 'n' : 'v');
  if (changes) {
    out.push_back('.');
    out.append(std::to_string(changes));
  }
  return out;
}
Status DecodeReplication(std::string_view key_rest, std::string_view value, ReplicationTask* t) {
  if (key_rest.size() <= kVersionStampSize) return Corrupt("replication record");
  std::string_view v = value;
  t->tags_only = !v.empty() && v.front() == 't';
  if (t->tags_only) v.remove_prefix(1);
  if (v.empty() || (v.front() != 'n' && v.front() != 'v')) return Corrupt("replication record");
  const bool null = v.front() == 'n';
  v.remove_prefix(1);
  if (!v.empty() &&
      (v.front() != '.' || v.size() < 2 || v.size() > 19 ||
       !std::all_of(v.begin() + 1, v.end(), [](char c) { return c >= '0' && c <= '9'; })))
    return Corrupt("replication record");
  const uint64_t micros = GetU64BE(key_rest);
  const uint64_t rand = GetU64BE(key_rest.substr(8));
  t->id = std::string(key_rest);
  t->record = std::string(value);
  t->version = null ? VersionId::NullAt(micros, rand) : VersionId::Of(micros, rand);
  auto key = ParseObjectKey(key_rest.substr(kVersionStampSize));
  if (!key.ok()) return Corrupt("replication record key");
  t->key = std::move(key).value();
  return Status::Ok();
}
std::string UsagePrefix(std::string_view bucket) { return Join(kUsage, {bucket, ""}); }
std::string UsageBaseKey(std::string_view bucket) { return UsagePrefix(bucket) + "0"; }
std::string UsageDeltaKey(std::string_view bucket, std::string_view writer, uint64_t seq) {
  std::string out = UsagePrefix(bucket) + "d";
  out.append(writer);
  PutU64BE(&out, seq);
  return out;
}
std::string EncodeUsage(const BucketUsage& u) {
  std::string out;
  for (int64_t v : {u.objects, u.bytes, u.versions, u.version_bytes})
    PutU64BE(&out, static_cast<uint64_t>(v));
  return out;
}
Status DecodeUsage(std::string_view in, BucketUsage* u) {
  if (in.size() != 32) return Corrupt("usage record");
  int64_t* f[] = {&u->objects, &u->bytes, &u->versions, &u->version_bytes};
  for (size_t i = 0; i < 4; i++) *f[i] = static_cast<int64_t>(GetU64BE(in.substr(8 * i)));
  return Status::Ok();
}

std::string EncodeStamp(const VersionId& v) {
  std::string out;
  PutU64BE(&out, v.micros());
  PutU64BE(&out, v.rand());
  return out;
}
Status DecodeStamp(std::string_view in, VersionId* v) {
  if (in.size() != kVersionStampSize) return Corrupt("null-version stamp");
  *v = VersionId::NullAt(GetU64BE(in), GetU64BE(in.substr(8)));
  return Status::Ok();
}

std::string CompletedKey(std::string_view upload_id) { return Join(kCompleted, {upload_id}); }
std::string CompletedByAgeKey(int64_t completed_micros, std::string_view upload_id) {
  std::string k(1, kCompletedByAge);
  uint64_t t = completed_micros < 0 ? 0 : static_cast<uint64_t>(completed_micros);
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>((t >> shift) & 0xff));
  k.append(upload_id);
  return k;
}
std::string RefKey(std::string_view data_id) { return Join(kRef, {data_id}); }
std::string GcKey(std::string_view data_id) { return Join(kGc, {data_id}); }
std::string MemberPrefix(std::string_view data_id) { return Join(kMember, {data_id, ""}); }
std::string MemberKey(std::string_view data_id, std::string_view name) {
  return Join(kMember, {data_id, name});
}

std::optional<std::string> CommonPrefixOf(std::string_view key, std::string_view prefix,
                                          std::string_view delimiter) {
  if (delimiter.empty()) return std::nullopt;
  size_t pos = key.find(delimiter, prefix.size());
  if (pos == std::string_view::npos) return std::nullopt;
  return std::string(key.substr(0, pos + delimiter.size()));
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    unsigned char c = static_cast<unsigned char>(s.back());
    if (c != 0xff) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

std::string EncodeBucket(const BucketInfo& b) {
  Writer w;
  w.Str(b.name);
  w.I64(b.created_micros);
  w.Str(b.owner);
  w.Str(b.region);
  w.U64(static_cast<uint64_t>(b.versioning));  // optional, added with versioning
  w.U64(b.lock.enabled ? 1 : 0);               // optional, added with Object Lock
  w.Str(b.lock.default_mode);
  w.U64(b.lock.default_days);
  w.U64(b.lock.default_years);
  w.Str(b.snapshot_of);  // optional, added with snapshots
  w.I64(b.snapshot_at);
  w.I64(b.last_snapshot_at);
  return w.Take();
}

Status DecodeBucket(std::string_view in, BucketInfo* b) {
  Reader r(in);
  std::string name;
  if (!r.Version() || !r.Str(&name) || !r.I64(&b->created_micros) || !r.Str(&b->owner) ||
      !r.Str(&b->region))
    return Corrupt("bucket record");
  b->name = BucketName::Trusted(std::move(name));
  b->versioning = Versioning::kUnversioned;
  if (!r.AtEnd()) {
    uint64_t v;
    if (!r.U64(&v) || v > 2) return Corrupt("bucket versioning");
    b->versioning = static_cast<Versioning>(v);
  }
  b->lock = {};
  if (!r.AtEnd()) {
    uint64_t on;
    if (!r.U64(&on) || !r.Str(&b->lock.default_mode) || !r.U32(&b->lock.default_days) ||
        !r.U32(&b->lock.default_years))
      return Corrupt("bucket object lock");
    b->lock.enabled = on != 0;
  }
  b->snapshot_of.clear();
  b->snapshot_at = b->last_snapshot_at = 0;
  if (!r.AtEnd() &&
      (!r.Str(&b->snapshot_of) || !r.I64(&b->snapshot_at) || !r.I64(&b->last_snapshot_at)))
    return Corrupt("bucket snapshot");
  return Status::Ok();
}

// Field order matters: listings decode only up to the headers.
std::string EncodeObject(const ObjectMeta& m, bool inline_elsewhere) {
  inline_elsewhere = inline_elsewhere && !m.inline_data.empty();
  Writer w;
  w.U64(m.size);
  w.Str(m.etag);
  w.I64(m.mtime_micros);
  w.Str(m.content_type);
  w.Headers(m.headers);
  w.Headers(m.tags);
  w.U64(m.parts_count);
  w.Str(inline_elsewhere ? std::string_view() : std::string_view(m.inline_data));
  w.U64(m.segments.size());
  for (const auto& s : m.segments) {
    w.Str(s.data_id);
    w.U64(s.size);
    w.Str(s.etag);
  }
  // Added after the first records were written: optional, absent in older records.
  w.Str(m.checksum_algo);
  w.Str(m.checksum_value);
  w.Str(m.checksum_type);
  w.U64(m.part_checksums.size());  // optional, added later still
  for (const auto& c : m.part_checksums) w.Str(c);
  w.Str(m.acl);  // optional, added with access control
  // Optional, added with versioning: absent means an unversioned (legacy null) record.
  const bool locked = !m.retention.mode.empty() || m.legal_hold;
  const bool appendable = !m.append_state.empty();
  const bool encrypted = !m.encryption.empty();
  const bool tar = m.tar_members > 0 || encrypted;
  if (!m.version.empty() || m.delete_marker || locked || !m.replication_status.empty() ||
      appendable || tar) {
    uint64_t flags = (m.version.empty() ? 0 : kHasVersion) | (m.version.is_null() ? kNullFlag : 0) |
                     (m.delete_marker ? kMarkerFlag : 0) |
                     (inline_elsewhere ? kInlineInCurrent : 0);
    w.U64(flags);
    w.U64(m.version.micros());
    w.U64(m.version.rand());
  }
  // Optional, added with Object Lock.
  const bool replicated = !m.replication_status.empty();
  if (locked || replicated || appendable || tar) {
    w.Str(m.retention.mode);
    w.I64(m.retention.until_micros);
    w.U64(m.legal_hold ? 1 : 0);
  }
  if (replicated || appendable || tar)
    w.Str(m.replication_status);                 // optional, added with replication
  if (appendable || tar) w.Str(m.append_state);  // optional, added with appends
  if (tar) w.U64(m.tar_members);                 // optional, added with tar member tables
  if (encrypted) w.Str(m.encryption);            // optional, added with encryption at rest
  return w.Take();
}

namespace {
Status DecodeVersionFields(Reader& r, ObjectMeta* m, bool* inline_elsewhere = nullptr) {
  if (inline_elsewhere) *inline_elsewhere = false;
  m->version = {};
  m->delete_marker = false;
  m->retention = {};
  m->legal_hold = false;
  m->replication_status.clear();
  m->append_state.clear();
  m->tar_members = 0;
  m->members.clear();
  m->encryption.clear();
  if (r.AtEnd()) return Status::Ok();
  uint64_t flags, micros, rand;
  if (!r.U64(&flags) || !r.U64(&micros) || !r.U64(&rand)) return Corrupt("object version");
  if (flags & kHasVersion)
    m->version =
        (flags & kNullFlag) ? VersionId::NullAt(micros, rand) : VersionId::Of(micros, rand);
  m->delete_marker = (flags & kMarkerFlag) != 0;
  if (inline_elsewhere) *inline_elsewhere = (flags & kInlineInCurrent) != 0;
  m->retention = {};
  m->legal_hold = false;
  if (r.AtEnd()) return Status::Ok();
  uint64_t hold;
  if (!r.Str(&m->retention.mode) || !r.I64(&m->retention.until_micros) || !r.U64(&hold))
    return Corrupt("object lock");
  m->legal_hold = hold != 0;
  if (r.AtEnd()) return Status::Ok();
  if (!r.Str(&m->replication_status)) return Corrupt("object replication status");
  if (r.AtEnd()) return Status::Ok();
  if (!r.Str(&m->append_state)) return Corrupt("object append state");
  if (r.AtEnd()) return Status::Ok();
  if (!r.U64(&m->tar_members)) return Corrupt("object tar member count");
  if (r.AtEnd()) return Status::Ok();
  if (!r.Str(&m->encryption)) return Corrupt("object encryption");
  return Status::Ok();
}
}  // namespace

Status DecodeObjectSummary(std::string_view in, ObjectMeta* m) {
  Reader r(in);
  uint64_t nseg, parts;
  if (!r.Version() || !r.U64(&m->size) || !r.Str(&m->etag) || !r.I64(&m->mtime_micros) ||
      !r.Str(&m->content_type) || !r.SkipHeaders() || !r.SkipHeaders() || !r.U64(&parts) ||
      !r.SkipStr() || !r.U64(&nseg) || nseg > in.size())
    return Corrupt("object record");
  for (uint64_t i = 0; i < nseg; i++) {
    uint64_t size;
    if (!r.SkipStr() || !r.U64(&size) || !r.SkipStr()) return Corrupt("segment");
  }
  if (!r.AtEnd() && (!r.SkipStr() || !r.SkipStr() || !r.SkipStr()))
    return Corrupt("object checksum");
  if (!r.AtEnd()) {
    uint64_t n;
    if (!r.U64(&n) || n > in.size()) return Corrupt("part checksums");
    for (uint64_t i = 0; i < n; i++)
      if (!r.SkipStr()) return Corrupt("part checksums");
  }
  if (!r.AtEnd() && !r.SkipStr()) return Corrupt("object acl");
  return DecodeVersionFields(r, m);
}

Status DecodeObject(std::string_view in, ObjectMeta* m, bool listing_only, bool* inline_elsewhere) {
  if (inline_elsewhere) *inline_elsewhere = false;
  Reader r(in);
  if (!r.Version() || !r.U64(&m->size) || !r.Str(&m->etag) || !r.I64(&m->mtime_micros) ||
      !r.Str(&m->content_type))
    return Corrupt("object record");
  if (listing_only) return Status::Ok();
  uint64_t nseg;
  if (!r.Headers(&m->headers) || !r.Headers(&m->tags) || !r.U32(&m->parts_count) ||
      !r.Str(&m->inline_data) || !r.U64(&nseg) || nseg > in.size())
    return Corrupt("object record");
  m->segments.resize(nseg);
  for (auto& s : m->segments)
    if (!r.Str(&s.data_id) || !r.U64(&s.size) || !r.Str(&s.etag)) return Corrupt("segment");
  if (!r.AtEnd() &&
      (!r.Str(&m->checksum_algo) || !r.Str(&m->checksum_value) || !r.Str(&m->checksum_type)))
    return Corrupt("object checksum");
  if (!r.AtEnd()) {
    uint64_t n;
    if (!r.U64(&n) || n > in.size()) return Corrupt("part checksums");
    m->part_checksums.resize(n);
    for (auto& c : m->part_checksums)
      if (!r.Str(&c)) return Corrupt("part checksums");
  }
  if (!r.AtEnd() && !r.Str(&m->acl)) return Corrupt("object acl");
  return DecodeVersionFields(r, m, inline_elsewhere);
}

std::optional<std::string_view> ObjectListingHead(std::string_view in) {
  Reader r(in);
  ObjectMeta m;
  if (!r.Version() || !r.U64(&m.size) || !r.Str(&m.etag) || !r.I64(&m.mtime_micros) ||
      !r.Str(&m.content_type))
    return std::nullopt;
  return in.substr(0, in.size() - r.left());
}

std::string EncodeMember(const TarEntry& e) {
  Writer w;
  w.U64(e.offset);
  w.U64(e.size);
  return w.Take();
}

Status DecodeMember(std::string_view name, std::string_view in, TarEntry* e) {
  Reader r(in);
  if (!r.Version() || !r.U64(&e->offset) || !r.U64(&e->size)) return Corrupt("tar member");
  e->name.assign(name);
  return Status::Ok();
}

std::string EncodeCompleted(const CompletedUpload& c) {
  Writer w;
  w.Str(c.bucket);
  w.Str(c.key);
  w.Str(c.etag);
  w.Str(c.checksum_algo);
  w.Str(c.checksum_value);
  w.Str(c.checksum_type);
  w.I64(c.completed_micros);
  w.Str(c.version.ToString());  // optional, added with versioning
  return w.Take();
}

Status DecodeCompleted(std::string_view in, CompletedUpload* c) {
  Reader r(in);
  if (!r.Version() || !r.Str(&c->bucket) || !r.Str(&c->key) || !r.Str(&c->etag) ||
      !r.Str(&c->checksum_algo) || !r.Str(&c->checksum_value) || !r.Str(&c->checksum_type) ||
      !r.I64(&c->completed_micros))
    return Corrupt("completed-upload record");
  c->version = {};
  if (!r.AtEnd()) {
    std::string v;
    if (!r.Str(&v)) return Corrupt("completed-upload record");
    if (!v.empty()) {
      auto id = VersionId::Parse(v);
      if (!id.ok()) return Corrupt("completed-upload version");
      c->version = *id;
    }
  }
  return Status::Ok();
}

std::string EncodeUpload(const UploadInfo& u) {
  Writer w;
  w.Str(u.upload_id);
  w.Str(u.key);
  w.I64(u.initiated_micros);
  w.Str(u.content_type);
  w.Headers(u.headers);
  w.Headers(u.tags);
  w.Str(u.checksum_algo);  // optional trailing fields
  w.Str(u.checksum_type);
  w.Str(u.acl);
  w.Str(u.retention.mode);  // optional, added with Object Lock
  w.I64(u.retention.until_micros);
  w.U64(u.legal_hold ? 1 : 0);
  if (!u.encryption.empty()) w.Str(u.encryption);  // optional, added with encryption at rest
  return w.Take();
}

Status DecodeUpload(std::string_view in, UploadInfo* u) {
  Reader r(in);
  std::string id, key;
  if (!r.Version() || !r.Str(&id) || !r.Str(&key) || !r.I64(&u->initiated_micros) ||
      !r.Str(&u->content_type) || !r.Headers(&u->headers) || !r.Headers(&u->tags))
    return Corrupt("upload record");
  u->upload_id = UploadId::Trusted(std::move(id));
  u->key = ObjectKey::Trusted(std::move(key));
  if (!r.AtEnd() && !r.Str(&u->checksum_algo)) return Corrupt("upload record");
  if (!r.AtEnd() && !r.Str(&u->checksum_type)) return Corrupt("upload record");
  if (!r.AtEnd() && !r.Str(&u->acl)) return Corrupt("upload record");
  if (!r.AtEnd()) {
    uint64_t hold;
    if (!r.Str(&u->retention.mode) || !r.I64(&u->retention.until_micros) || !r.U64(&hold))
      return Corrupt("upload record");
    u->legal_hold = hold != 0;
  }
  if (!r.AtEnd() && !r.Str(&u->encryption)) return Corrupt("upload record");
  if (!u->checksum_algo.empty() && u->checksum_type.empty()) u->checksum_type = "COMPOSITE";
  return Status::Ok();
}

std::string EncodePart(const PartInfo& p) {
  Writer w;
  w.U64(p.number);
  w.U64(p.size);
  w.Str(p.etag);
  w.I64(p.mtime_micros);
  w.Str(p.data_id);
  w.Str(p.checksum_algo);  // optional trailing fields
  w.Str(p.checksum_value);
  return w.Take();
}

Status DecodePart(std::string_view in, PartInfo* p) {
  Reader r(in);
  if (!r.Version() || !r.U32(&p->number) || !r.U64(&p->size) || !r.Str(&p->etag) ||
      !r.I64(&p->mtime_micros) || !r.Str(&p->data_id))
    return Corrupt("part record");
  if (!r.AtEnd() && (!r.Str(&p->checksum_algo) || !r.Str(&p->checksum_value)))
    return Corrupt("part record");
  return Status::Ok();
}

}  // namespace sluice::meta::codec
