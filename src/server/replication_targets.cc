#include "server/replication_targets.h"

#include <sluice/client.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <sstream>

#include "common/hash.h"
#include "common/strings.h"
#include "s3/replica.h"
#include "s3/replication.h"
#include "server/remote_s3.h"

namespace sluice::server {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxSinglePut = 5ULL << 30;   // S3's limit for one PUT
constexpr uint64_t kFallbackPart = 64ULL << 20;  // parts when the source's are unknown
constexpr char kProbeKey[] = ".sluice-replication-check";

// A read of the source failed while the client library was sending the body.
struct SourceReadFailed {
  Status status;
};

std::string Aad(std::string_view name) {
  return std::string(kReplicationTargetNs) + "/" + std::string(name);
}

std::string ObjectPath(const std::string& bucket, std::string_view key) {
  return "/" + bucket + "/" + UriEncode(key, false);
}

// How an answer of the target ends a task: refused for good, or to be tried again.
Status FromAnswer(int status, const std::string& code, const std::string& what) {
  std::string why = what + ": the target answered " + std::to_string(status) +
                    (code.empty() ? std::string() : " " + code);
  if (status == 0) return Error(Err::kServiceUnavailable, what);
  if (status == 403) return Error(Err::kAccessDenied, why);
  if (status == 404 && code == "NoSuchBucket") return Error(Err::kNoSuchBucket, why);
  if (status == 429 || code == "SlowDown") return Error(Err::kSlowDown, why);
  if (status >= 500 || status == 408 || status == 404 || code == "BadDigest" ||
      code == "InvalidDigest" || code == "IncompleteBody" || code == "RequestTimeout" ||
      code == "XAmzContentSHA256Mismatch")
    return Error(Err::kServiceUnavailable, why);
  return Error(Err::kInvalidRequest, why);
}

Status FromResponse(const client::Response& r, const std::string& what) {
  return FromAnswer(r.status, S3ErrorCode(r), what);
}

Status FromException(const client::ClientError& e, const std::string& what) {
  if (e.http_status() == 0) return Error(Err::kServiceUnavailable, what + ": " + e.what());
  return FromAnswer(e.http_status(), e.code(), what + " (" + e.what() + ")");
}

std::string TaggingHeader(const meta::HeaderList& tags) {
  std::string out;
  for (const auto& [k, v] : tags) {
    if (!out.empty()) out += '&';
    out += UriEncode(k, true) + "=" + UriEncode(v, true);
  }
  return out;
}

}  // namespace

struct RemoteReplicationTargets::Entry {
  std::string name;
  ReplicationTargetSpec spec;
  bool sluice = false;
  int64_t created_micros = 0;
  std::unique_ptr<client::Client> client;
  mutable std::mutex mu;  // the health fields
  int64_t last_ok_micros = 0, last_error_micros = 0;
  std::string last_error;
};

namespace {

client::Settings SettingsOf(const ReplicationTargetSpec& spec, const AddressPolicy& policy) {
  client::Settings s;
  s.refuse_address = [policy](const std::string& a) { return policy.Refuses(a); };
  s.endpoint = spec.endpoint;
  s.access_key = spec.access_key;
  s.secret_key = spec.secret_key;
  s.region = spec.region.empty() ? "us-east-1" : spec.region;
  s.ca_pem = spec.ca_bundle;
  // The worker retries with its own backoff; a request here gives up soon, so one target
  // that is down holds a worker thread for seconds, not minutes.
  s.max_attempts = 2;
  s.timeout_s = 30;
  return s;
}

// One target as the worker sees it: what a copy, a marker and the crash check send.
class RemoteTarget : public s3::ReplicationTarget {
 public:
  RemoteTarget(std::shared_ptr<RemoteReplicationTargets::Entry> e, const io::Clock* clock)
      : e_(std::move(e)), clock_(clock) {}

  Result<bool> Holds(const ObjectKey& key, const meta::ObjectMeta& m) override {
    return Guard("checking", [&]() -> Result<bool> {
      const std::string path = ObjectPath(e_->spec.bucket, key.str());
      // A sluice target stores a replica sent again once (it keeps the source's version id
      // and finds it there: s3/replica.h), so asking first would only cost a round trip.
      if (e_->sluice) return false;
      // Another S3 names its versions itself: the copy is there when the latest is it.
      client::Response r = e_->client->Send("HEAD", path, "", "");
      if (m.delete_marker) return r.status == 404 && r.header("x-amz-delete-marker") == "true";
      if (r.status == 200)
        return UnquoteEtag(r.header("etag")) == m.etag &&
               r.header("content-length") == std::to_string(m.size);
      if (r.status == 404) return false;
      return FromResponse(r, "HEAD " + path);
    });
  }

  Result<bool> SetTags(const ObjectKey& key, const meta::ObjectMeta& m) override {
    return Guard("setting tags", [&]() -> Result<bool> {
      const std::string path = ObjectPath(e_->spec.bucket, key.str());
      std::string query = "tagging=";
      if (e_->sluice) {
        query += "&versionId=" + m.version.ToString();
      } else {  // only the latest can be named: is it this version's copy?
        client::Response r = e_->client->Send("HEAD", path, "", "");
        if (r.status == 404) return false;
        if (r.status != 200) return FromResponse(r, "HEAD " + path);
        if (UnquoteEtag(r.header("etag")) != m.etag ||
            r.header("content-length") != std::to_string(m.size))
          return true;  // a newer version is the latest there
      }
      pugi::xml_document doc;
      auto set = doc.append_child("Tagging").append_child("TagSet");
      for (const auto& [k, v] : m.tags) {
        auto tag = set.append_child("Tag");
        tag.append_child("Key").text().set(k.c_str());
        tag.append_child("Value").text().set(v.c_str());
      }
      std::ostringstream xml;
      doc.save(xml, "", pugi::format_raw | pugi::format_no_declaration);
      const std::string body = xml.str();
      std::map<std::string, std::string> h{{"content-md5", Base64Encode(Md5(body))},
                                           {"content-type", "application/xml"}};
      client::Response r = e_->client->Send("PUT", path, query, body, h);
      if (r.status == 404) {
        const std::string code = S3ErrorCode(r);
        if (code == "NoSuchVersion" || code == "NoSuchKey") return false;
      }
      if (r.status != 200) return FromResponse(r, "PUT " + path + "?tagging");
      return true;
    });
  }

  Status WriteMarker(const ObjectKey& key, const meta::ObjectMeta& m) override {
    return Guard("writing a delete marker",
                 [&]() -> Result<bool> {
                   std::map<std::string, std::string> h;
                   AddReplicaHeaders(m, &h);
                   const std::string path = ObjectPath(e_->spec.bucket, key.str());
                   client::Response r = e_->client->Send("DELETE", path, "", "", h);
                   if (r.status != 204 && r.status != 200) return FromResponse(r, "DELETE " + path);
                   return true;
                 })
        .status();
  }

  Status Write(const ObjectKey& key, const meta::ObjectMeta& m,
               const s3::ReplicaReader& read) override {
    return Guard("writing",
                 [&]() -> Result<bool> {
                   const bool by_parts =
                       m.parts_count > 0 && m.segments.size() == m.parts_count &&
                       std::all_of(m.segments.begin(), m.segments.end(),
                                   [](const meta::Segment& s) { return !s.etag.empty(); });
                   if (by_parts || m.size > kMaxSinglePut) {
                     SLUICE_RETURN_IF_ERROR(WriteParts(key, m, read, by_parts));
                   } else {
                     SLUICE_RETURN_IF_ERROR(WriteOne(key, m, read));
                   }
                   return true;
                 })
        .status();
  }

 private:
  // Runs `fn`, turning what the client library throws into a status, and keeps the
  // target's health for `sluice admin replication status`.
  template <typename F>
  Result<bool> Guard(const std::string& what, F fn) {
    Result<bool> out = false;
    try {
      out = fn();
    } catch (const SourceReadFailed& f) {
      out = f.status;
    } catch (const client::ClientError& ce) {
      out = FromException(ce, what);
    } catch (const std::exception& ex) {
      out = Error(Err::kServiceUnavailable, what + ": " + ex.what());
    }
    std::lock_guard l(e_->mu);
    const int64_t now = clock_->NowMicros();
    if (out.ok()) {
      e_->last_ok_micros = now;
    } else if (out.status().code() != Err::kCorruption) {  // the source's fault, not the target's
      e_->last_error_micros = now;
      e_->last_error = out.status().ToString();
    }
    return out;
  }

  void AddReplicaHeaders(const meta::ObjectMeta& m, std::map<std::string, std::string>* h) const {
    if (!e_->sluice) return;
    (*h)[std::string(s3::kReplicaVersionHeader)] = m.version.ToString();
    (*h)[std::string(s3::kReplicaMtimeHeader)] = std::to_string(m.mtime_micros);
  }

  std::map<std::string, std::string> ObjectHeaders(const meta::ObjectMeta& m) const {
    std::map<std::string, std::string> h;
    if (!m.content_type.empty()) h["content-type"] = m.content_type;
    for (const auto& [k, v] : m.headers) h[k] = v;
    if (!m.tags.empty()) h["x-amz-tagging"] = TaggingHeader(m.tags);
    if (e_->sluice && !m.acl.empty()) h["x-amz-acl"] = m.acl;
    return h;
  }

  // The body of one request: [offset, offset+len) of the source, hashed as it goes.
  std::function<size_t(char*, size_t)> Body(const s3::ReplicaReader& read, uint64_t offset,
                                            uint64_t len, Hasher* md5) {
    return [&read, offset, len, md5, pos = uint64_t{0}](char* buf, size_t n) mutable -> size_t {
      if (pos >= len) return 0;
      size_t got = 0;
      Status s =
          read(offset + pos, buf, static_cast<size_t>(std::min<uint64_t>(n, len - pos)), &got);
      if (!s.ok()) throw SourceReadFailed{s};
      if (got == 0) throw SourceReadFailed{Status(Err::kCorruption, "the source ended early")};
      md5->Update(buf, got);
      pos += got;
      return got;
    };
  }

  Status WriteOne(const ObjectKey& key, const meta::ObjectMeta& m, const s3::ReplicaReader& read) {
    std::map<std::string, std::string> h = ObjectHeaders(m);
    AddReplicaHeaders(m, &h);
    const bool plain_md5 = m.etag.size() == 32 && m.etag.find('-') == std::string::npos;
    if (plain_md5)  // the target refuses bytes that are not the source's
      if (auto raw = HexDecode(m.etag)) h["content-md5"] = Base64Encode(*raw);
    if (!m.checksum_algo.empty() && m.checksum_type == "FULL_OBJECT")
      h["x-amz-checksum-" + ToLower(m.checksum_algo)] = m.checksum_value;
    const std::string path = ObjectPath(e_->spec.bucket, key.str());
    Hasher md5(Hasher::Kind::kMd5);
    client::Response r =
        e_->client->SendBody("PUT", path, "", m.size, Body(read, 0, m.size, &md5), h);
    if (r.status != 200) return FromResponse(r, "PUT " + path);
    const std::string sent = md5.FinishHex();
    const std::string got = UnquoteEtag(r.header("etag"));
    if (got != sent)
      return Error(Err::kServiceUnavailable, "PUT " + path + ": the target's ETag " + got +
                                                 " is not the MD5 of the bytes sent, " + sent);
    return Status::Ok();
  }

  Status WriteParts(const ObjectKey& key, const meta::ObjectMeta& m, const s3::ReplicaReader& read,
                    bool by_parts) {
    const std::string path = ObjectPath(e_->spec.bucket, key.str());
    std::vector<std::pair<uint64_t, uint64_t>> parts;  // offset, length
    if (by_parts) {
      uint64_t off = 0;
      for (const auto& s : m.segments) {
        parts.emplace_back(off, s.size);
        off += s.size;
      }
    } else {
      for (uint64_t off = 0; off < m.size; off += kFallbackPart)
        parts.emplace_back(off, std::min(kFallbackPart, m.size - off));
    }
    client::Response r = e_->client->Send("POST", path, "uploads=", "", ObjectHeaders(m));
    if (r.status != 200) return FromResponse(r, "CreateMultipartUpload " + path);
    pugi::xml_document doc;
    doc.load_buffer(r.body.data(), r.body.size());
    const std::string id = doc.document_element().child("UploadId").text().as_string();
    if (id.empty())
      return Error(Err::kServiceUnavailable, "no UploadId from the target for " + path);
    const std::string upload = "uploadId=" + UriEncode(id, true);
    auto abort = [&] {
      try {
        e_->client->Send("DELETE", path, upload, "");
      } catch (...) {
      }
    };
    try {
      std::string complete = "<CompleteMultipartUpload>";
      std::string md5s;
      for (size_t i = 0; i < parts.size(); i++) {
        std::map<std::string, std::string> h;
        if (by_parts)
          if (auto raw = HexDecode(m.segments[i].etag)) h["content-md5"] = Base64Encode(*raw);
        Hasher md5(Hasher::Kind::kMd5);
        const std::string q = "partNumber=" + std::to_string(i + 1) + "&" + upload;
        client::Response p = e_->client->SendBody(
            "PUT", path, q, parts[i].second, Body(read, parts[i].first, parts[i].second, &md5), h);
        if (p.status != 200) {
          abort();
          return FromResponse(p, "UploadPart " + std::to_string(i + 1) + " of " + path);
        }
        const std::string raw = md5.Finish();
        const std::string etag = UnquoteEtag(p.header("etag"));
        if (etag != HexEncode(raw)) {
          abort();
          return Error(Err::kServiceUnavailable, "part " + std::to_string(i + 1) + " of " + path +
                                                     ": the target's ETag " + etag +
                                                     " is not the MD5 of the bytes sent");
        }
        md5s += raw;
        complete += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>\"" + etag +
                    "\"</ETag></Part>";
      }
      complete += "</CompleteMultipartUpload>";
      std::map<std::string, std::string> h;
      AddReplicaHeaders(m, &h);
      client::Response c = e_->client->Send("POST", path, upload, complete, h);
      pugi::xml_document done;
      done.load_buffer(c.body.data(), c.body.size());
      if (c.status != 200 || std::string_view(done.document_element().name()) == "Error") {
        abort();
        return FromAnswer(c.status == 200 ? 500 : c.status, S3ErrorCode(c),
                          "CompleteMultipartUpload " + path);
      }
      const std::string want = HexEncode(Md5(md5s)) + "-" + std::to_string(parts.size());
      const std::string got = UnquoteEtag(done.document_element().child("ETag").text().as_string());
      if (got != want || (by_parts && got != m.etag))
        return Error(Err::kServiceUnavailable,
                     "CompleteMultipartUpload " + path + ": ETag " + got + ", expected " + want);
      return Status::Ok();
    } catch (...) {
      abort();
      throw;
    }
  }

  std::shared_ptr<RemoteReplicationTargets::Entry> e_;
  const io::Clock* clock_;
};

}  // namespace

RemoteReplicationTargets::RemoteReplicationTargets(meta::Index* index, const auth::SecretBox* box,
                                                   const io::Clock* clock)
    : index_(index), box_(box), clock_(clock) {
  index_->Subscribe([this](const meta::Index::Change& c) {
    if (c.kind != meta::Index::Change::Kind::kDocs || c.name != kReplicationTargetNs) return;
    std::lock_guard l(mu_);
    cache_.clear();
  });
}

ReplicationTargetInfo RemoteReplicationTargets::InfoOf(const Entry& e) const {
  ReplicationTargetInfo i;
  i.name = e.name;
  i.arn = std::string(s3::kReplicationTargetArn) + e.name;
  i.endpoint = e.spec.endpoint;
  i.bucket = e.spec.bucket;
  i.access_key = e.spec.access_key;
  i.region = e.spec.region.empty() ? "us-east-1" : e.spec.region;
  i.has_ca_bundle = !e.spec.ca_bundle.empty();
  i.sluice = e.sluice;
  i.created_micros = e.created_micros;
  std::lock_guard l(e.mu);
  i.last_ok_micros = e.last_ok_micros;
  i.last_error_micros = e.last_error_micros;
  i.last_error = e.last_error;
  return i;
}

Result<std::shared_ptr<RemoteReplicationTargets::Entry>> RemoteReplicationTargets::Load(
    std::string_view name) {
  {
    std::lock_guard l(mu_);
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
  }
  SLUICE_ASSIGN_OR_RETURN(auto docs, index_->ListDocs(kReplicationTargetNs));
  for (const auto& [n, text] : docs) {
    if (n != name) continue;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Error(Err::kCorruption, "replication target " + n + ": the record does not parse");
    auto e = std::make_shared<Entry>();
    e->name = n;
    e->spec.name = n;
    e->spec.endpoint = j.value("endpoint", "");
    e->spec.bucket = j.value("bucket", "");
    e->spec.access_key = j.value("access_key", "");
    e->spec.region = j.value("region", "");
    e->spec.ca_bundle = j.value("ca_bundle", "");
    e->sluice = j.value("sluice", false);
    e->created_micros = j.value("created", int64_t{0});
    SLUICE_ASSIGN_OR_RETURN(e->spec.secret_key, box_->Open(j.value("secret_sealed", ""), Aad(n)));
    try {
      e->client = std::make_unique<client::Client>(SettingsOf(e->spec, policy_));
    } catch (const client::ClientError& ce) {
      return Error(Err::kInvalidRequest, "replication target " + n + ": " + ce.what());
    }
    std::lock_guard l(mu_);
    return cache_.emplace(n, std::move(e)).first->second;
  }
  return Error(Err::kNotFound, "no replication target named " + std::string(name));
}

Result<std::shared_ptr<s3::ReplicationTarget>> RemoteReplicationTargets::Find(
    std::string_view name) {
  SLUICE_ASSIGN_OR_RETURN(auto e, Load(name));
  return std::shared_ptr<s3::ReplicationTarget>(std::make_shared<RemoteTarget>(e, clock_));
}

Result<ReplicationTargetInfo> RemoteReplicationTargets::Get(std::string_view name) {
  SLUICE_ASSIGN_OR_RETURN(auto e, Load(name));
  return InfoOf(*e);
}

Result<std::vector<ReplicationTargetInfo>> RemoteReplicationTargets::List() {
  SLUICE_ASSIGN_OR_RETURN(auto docs, index_->ListDocs(kReplicationTargetNs));
  std::vector<ReplicationTargetInfo> out;
  for (const auto& [n, text] : docs) {
    auto e = Load(n);
    if (!e.ok()) {
      ReplicationTargetInfo broken;
      broken.name = n;
      broken.arn = std::string(s3::kReplicationTargetArn) + n;
      broken.last_error = e.status().ToString();
      out.push_back(std::move(broken));
      continue;
    }
    out.push_back(InfoOf(**e));
  }
  return out;
}

Result<ReplicationTargetInfo> RemoteReplicationTargets::Add(const ReplicationTargetSpec& spec) {
  auto refuse = [&](const std::string& why) {
    return Error(Err::kInvalidRequest, "replication target " + spec.name + ": " + why);
  };
  if (!s3::ValidTargetName(spec.name))
    return Error(Err::kInvalidArgument,
                 "a target name is 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                 "letter or digit");
  if (!spec.endpoint.starts_with("http://") && !spec.endpoint.starts_with("https://"))
    return refuse("the endpoint must be an http:// or https:// URL, not '" + spec.endpoint + "'");
  if (!ParseBucketName(spec.bucket).ok())
    return refuse("'" + spec.bucket + "' is not a bucket name");
  if (spec.access_key.empty() || spec.secret_key.empty())
    return refuse("the target's access key and secret key are both needed");

  auto e = std::make_shared<Entry>();
  e->name = spec.name;
  e->spec = spec;
  e->created_micros = clock_->NowMicros();
  const std::string at = spec.endpoint + "/" + spec.bucket;
  try {
    e->client = std::make_unique<client::Client>(SettingsOf(spec, policy_));
    client::Response head = e->client->Send("HEAD", "/" + spec.bucket, "", "");
    if (head.status == 403)
      return refuse("the target at " + spec.endpoint + " refuses the access key " +
                    spec.access_key + " (403 on HEAD of bucket " + spec.bucket + ")");
    if (head.status == 404)
      return refuse("the target at " + spec.endpoint + " has no bucket " + spec.bucket);
    if (head.status != 200)
      return refuse("HEAD of bucket " + at + " answered " + std::to_string(head.status));
    e->sluice = head.header("server") == "sluice";
    client::Response v = e->client->Send("GET", "/" + spec.bucket, "versioning=", "");
    if (v.status != 200)
      return refuse("reading the versioning of " + at + " answered " + std::to_string(v.status) +
                    " " + S3ErrorCode(v));
    pugi::xml_document doc;
    doc.load_buffer(v.body.data(), v.body.size());
    std::string state = doc.document_element().child("Status").text().as_string();
    if (state != "Enabled")
      return refuse("versioning must be Enabled on the target bucket " + at + " (it is " +
                    (state.empty() ? std::string("unset") : state) + ")");
    // May the key write? A multipart upload started and aborted says so and leaves nothing.
    const std::string probe = "/" + spec.bucket + "/" + kProbeKey;
    client::Response up = e->client->Send("POST", probe, "uploads=", "");
    if (up.status != 200)
      return refuse("the access key " + spec.access_key + " may not write to " + at + " (" +
                    std::to_string(up.status) + " " + S3ErrorCode(up) + ")");
    pugi::xml_document u;
    u.load_buffer(up.body.data(), up.body.size());
    std::string id = u.document_element().child("UploadId").text().as_string();
    if (!id.empty()) e->client->Send("DELETE", probe, "uploadId=" + UriEncode(id, true), "");
  } catch (const client::ClientError& ce) {
    return refuse(std::string("cannot reach ") + spec.endpoint + ": " + ce.what());
  }
  json j = {{"endpoint", spec.endpoint},
            {"bucket", spec.bucket},
            {"access_key", spec.access_key},
            {"secret_sealed", box_->Seal(spec.secret_key, Aad(spec.name))},
            {"region", spec.region},
            {"ca_bundle", spec.ca_bundle},
            {"sluice", e->sluice},
            {"created", e->created_micros}};
  SLUICE_RETURN_IF_ERROR(index_->WriteDocs({{kReplicationTargetNs, spec.name, j.dump()}}));
  {
    std::lock_guard l(mu_);
    cache_[spec.name] = e;
  }
  spdlog::info("replication target {} added: {} bucket {} (sluice: {})", spec.name, spec.endpoint,
               spec.bucket, e->sluice);
  return InfoOf(*e);
}

Status RemoteReplicationTargets::Remove(std::string_view name) {
  SLUICE_RETURN_IF_ERROR(Load(name).status());
  SLUICE_ASSIGN_OR_RETURN(auto buckets, index_->ListBuckets());
  for (const auto& b : buckets) {
    auto doc = index_->GetBucketConfig(b.name, s3::kReplicationConfig);
    if (!doc.ok()) continue;
    auto c = s3::ParseReplication(*doc);
    if (c.ok() && !c->rules.empty() && c->rules.front().dest_target == name)
      return Error(Err::kInvalidRequest, "the replication configuration of bucket " + b.name.str() +
                                             " names target " + std::string(name) +
                                             "; delete it first");
  }
  SLUICE_RETURN_IF_ERROR(
      index_->WriteDocs({{kReplicationTargetNs, std::string(name), std::nullopt}}));
  std::lock_guard l(mu_);
  if (auto it = cache_.find(name); it != cache_.end()) cache_.erase(it);
  return Status::Ok();
}

}  // namespace sluice::server
