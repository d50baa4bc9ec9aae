// BatchGet (sluice's own, docs/batch-get.md): `POST /bucket?batch-get` with a list of keys,
// optionally versions and byte ranges, answered by one tar stream of those objects in the
// requested order, each member named by its key.
//
// Every entry is read as a GET of it alone would be: authorized per key (s3:GetObject, or
// s3:GetObjectVersion with a version; a missing key is AccessDenied for a caller without
// s3:ListBucket), looked up through the bucket's view (a snapshot's too), its range checked.
// A failing entry fails the whole request (OnError "fail", the default) before anything is
// sent, or becomes an empty member carrying the error in pax records (OnError "entry").
//
// The latest versions of plain entries are looked up kLookupWindow at a time in one index
// call (one omap read on a RADOS index rather than one round trip a key); each is used only
// once its entry's authorization has passed.
//
// Memory stays bounded: the records are read first to size the answer, keeping at most
// kInlineBudget bytes of small objects (the rest are read again as they are sent); the
// answer then streams member by member, a file-backed member by sendfile. An object
// replaced between the two reads cannot be sent with the size already announced: the
// connection is then cut, and the client sees a short answer, never wrong bytes.
#include <map>

#include "common/check.h"
#include "common/strings.h"
#include "common/tar.h"
#include "s3/authz.h"
#include "s3/batch_request.h"
#include "s3/error_table.h"
#include "s3/headers.h"
#include "s3/object_io.h"
#include "s3/ops/ops.h"
#include "s3/parse.h"
#include "s3/payload.h"
#include "s3/respond.h"
#include "s3/tar_members.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

// Small objects' bytes kept from the first read to the send, per request: a batch of 10,000
// inline objects of 64 KiB would otherwise hold 640 MiB.
constexpr uint64_t kInlineBudget = 16 << 20;
// Entries whose records one index call reads: what a window holds before the budget above
// drops bytes is at most this many small objects' (a few MiB).
constexpr size_t kLookupWindow = 128;
// On a store that reads many ranges at once (DataStore::ReadsManyAtOnce: RADOS, where a
// shard's members come in one operation), the file-backed members still to send are read
// ahead together: up to this many members or bytes a read, each at most kReadAheadMember
// bytes (larger ones stream as a GET's do).
constexpr size_t kReadAheadEntries = 64;
constexpr uint64_t kReadAheadBytes = 4 << 20;
constexpr uint64_t kReadAheadMember = 1 << 20;

struct Entry {
  std::string name;  // the key as requested, or the member's name
  ObjectKey key;
  std::string member;  // a member of the tar object `key`, or empty
  VersionId version;
  std::string range;  // "bytes=…" as requested, or empty
  Status status = Status::Ok();
  meta::ObjectMeta meta;  // its inline bytes kept only while kInlineBudget lasts
  bool inline_object = false;
  bool inline_kept = false;         // meta.inline_data still holds the bytes
  uint64_t offset = 0, length = 0;  // in the object
  uint64_t base = 0, whole = 0;     // where the thing asked for (object or member) sits
  std::string etag;                 // its ETag
  std::string header;               // the member's tar header blocks
  std::string object_key;           // an SSE-S3 object's key (s3/sse.h), else empty
  bool read_ahead = false;          // `bytes` holds what is sent of it (ReadAhead)
  std::string bytes;
};

// The pax records that describe a member: what a reader needs beyond name and size.
TarMember MemberOf(const Entry& e) {
  TarMember m;
  m.name = e.name;
  if (!e.status.ok()) {
    const S3Error& info = LookupError(e.status.code());
    std::string message(info.message);
    if (!e.status.message().empty() && e.status.message() != e.name)
      message += " (" + std::string(e.status.message()) + ")";
    m.records = {{"SLUICE.error", std::string(info.code)},
                 {"SLUICE.status", std::to_string(info.http_status)},
                 {"SLUICE.message", std::move(message)}};
    return m;
  }
  m.size = e.length;
  m.mtime_seconds = e.meta.mtime_micros / 1000000;
  m.records = {{"SLUICE.etag", e.etag}};
  if (!e.member.empty()) m.records.push_back({"SLUICE.archive", e.key.str()});
  if (!e.meta.version.empty())
    m.records.push_back({"SLUICE.version-id", e.meta.version.ToString()});
  if (!e.range.empty())
    m.records.push_back(
        {"SLUICE.content-range", "bytes " + std::to_string(e.offset - e.base) + "-" +
                                     std::to_string(e.offset - e.base + e.length - 1) + "/" +
                                     std::to_string(e.whole)});
  return m;
}

// `*inline_budget`: bytes of small objects' data still allowed to stay in memory from this
// read to the send (sparing a second lookup); past it, the bytes are dropped and read again.
// The records of the tar objects whose members a batch names, read once per batch (a
// batch of a shard's samples names it hundreds of times): by key and version asked.
using Archives = std::map<std::string, meta::ObjectMeta>;

// A member entry's archive, as Archives names it.
std::string ArchiveId(const Entry& e) {
  std::string id = e.key.str();
  id += '\0';
  id += e.version.ToString();
  return id;
}

// The members a window names, looked up together: by archive id and member name.
using WindowMembers = std::map<std::pair<std::string, std::string>, Result<TarEntry>>;

// `found`: the entry's record when it was already looked up with its window (plain entries
// of the latest version), else null; `member_found` the same for a member's table entry.
Task<Status> Resolve(Ctx& ctx, Entry& e, Result<meta::ObjectMeta>* found_early,
                     const Result<TarEntry>* member_found, uint64_t* inline_budget,
                     Archives* archives) {
  const std::string_view action = e.version.empty() ? "s3:GetObject" : "s3:GetObjectVersion";
  SLUICE_CO_RETURN_IF_ERROR(co_await Require(ctx, action, ctx.bucket.str(), e.key.str()));
  std::string archive_id;
  if (!e.member.empty()) archive_id = ArchiveId(e);
  if (auto it = archives->find(archive_id); !archive_id.empty() && it != archives->end()) {
    e.meta = it->second;
  } else {
    // (Not a conditional expression: GCC 12 mishandles a co_await in one of its arms.)
    Result<meta::ObjectMeta> found = Status(Err::kInternal, "");
    if (found_early)
      found = std::move(*found_early);
    else
      found = co_await LookupVersion(ctx, ctx.bucket, e.key, e.version);
    Status readable = ReadableVersion(ctx, found, e.version);
    ctx.error_headers.clear();  // x-amz-delete-marker of one entry is not the answer's
    if (!readable.ok()) co_return co_await HideMissingKey(ctx, Op::kGetObject, std::move(readable));
    e.meta = std::move(found).value();
    if (!archive_id.empty() && !e.meta.segments.empty()) archives->emplace(archive_id, e.meta);
  }
  e.base = 0;
  e.whole = e.meta.size;
  e.etag = e.meta.etag;
  if (!e.member.empty()) {  // a member: its place in the archive, from the table
    Result<TarEntry> member = Status(Err::kInternal, "");
    if (member_found)
      member = *member_found;
    else
      member = co_await FindMember(ctx, e.key, e.meta, e.member);
    SLUICE_CO_ASSIGN_OR_RETURN(TarEntry t, std::move(member));
    if (t.offset > e.meta.size || t.size > e.meta.size - t.offset)
      co_return Status(Err::kCorruption,
                       "member " + e.member + " lies past the end of its archive");
    e.base = t.offset;
    e.whole = t.size;
    e.etag = MemberEtag(e.meta, t);
  }
  e.offset = e.base;
  e.length = e.whole;
  if (!e.range.empty()) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto range, ParseRange(e.range, e.whole));
    if (range) {
      e.offset = e.base + range->start;
      e.length = range->length;
    } else {
      e.range.clear();  // a range S3 ignores (not bytes=…): the whole object
    }
  }
  e.inline_object = e.meta.segments.empty();
  if (e.inline_object && e.meta.inline_data.size() <= *inline_budget) {
    *inline_budget -= e.meta.inline_data.size();
    e.inline_kept = true;
  } else {
    std::string().swap(e.meta.inline_data);
  }
  co_return Status::Ok();
}

// Writes what `out` gathered, and empties it.
Task<Status> Flush(Ctx& ctx, std::string& out) {
  if (out.empty()) co_return Status::Ok();
  Status s = co_await ctx.resp.Write(out);
  out.clear();
  co_return s;
}

// Headers, padding and small members' bytes gather in one buffer, written when it passes
// kGather or before a run that goes by sendfile: one write for many small members (a
// 4 KiB sample written as header, data and padding would cost three). A stored member
// shorter than kCopyBelow is read into the buffer by its store rather than sent by
// sendfile: a read costs less than a flush and a sendfile each (bench/members_bench.py).
constexpr size_t kGather = 256 << 10;
constexpr uint64_t kCopyBelow = 64 << 10;

class GatherSink final : public storage::ByteSink {
 public:
  GatherSink(Ctx& ctx, std::string& out) : ctx_(ctx), out_(out) {}
  Task<Status> Write(std::string_view bytes) override {
    out_.append(bytes);
    if (out_.size() >= kGather) co_return co_await Flush(ctx_, out_);
    co_return Status::Ok();
  }
  Task<Status> SendFile(int fd, uint64_t offset, uint64_t n) override {
    SLUICE_CO_RETURN_IF_ERROR(co_await Flush(ctx_, out_));
    co_return co_await ctx_.resp.SendFile(fd, offset, n);
  }
  uint64_t CopyBelow() const override { return kCopyBelow; }

 private:
  Ctx& ctx_;
  std::string& out_;
};

// The data opened for a batch, kept for the members that follow (a shard's samples share
// one data file): at most kOpenReaders at a time.
class Readers {
 public:
  static constexpr size_t kOpenReaders = 32;
  Task<Result<storage::DataReader*>> Get(Ctx& ctx, const std::string& id,
                                         std::string_view object_key) {
    for (auto& [have, reader] : open_)
      if (have == id) co_return reader.get();
    auto opened = co_await ctx.svc.data->Open(id);
    if (!opened.ok()) co_return DataOpenFailed(opened.status(), id);
    if (open_.size() == kOpenReaders) open_.erase(open_.begin());
    std::unique_ptr<storage::DataReader> reader = std::move(opened).value();
    if (!object_key.empty())
      reader = DecryptingReader(std::move(reader), object_key, id, ctx.svc.blocking);
    open_.emplace_back(id, std::move(reader));
    co_return open_.back().second.get();
  }

 private:
  std::vector<std::pair<std::string, std::unique_ptr<storage::DataReader>>> open_;
};

// [offset, offset + len) of a stored object, through the gathering sink.
Task<Status> SendStored(Ctx& ctx, const meta::ObjectMeta& m, std::string_view object_key,
                        uint64_t offset, uint64_t len, Readers& readers, GatherSink& sink) {
  uint64_t seg_start = 0;
  for (const auto& seg : m.segments) {
    const uint64_t seg_end = seg_start + seg.size;
    if (offset < seg_end && len > 0) {
      const uint64_t from = offset - seg_start;
      const uint64_t n = std::min<uint64_t>(len, seg.size - from);
      SLUICE_CO_ASSIGN_OR_RETURN(storage::DataReader * reader,
                                 co_await readers.Get(ctx, seg.data_id, object_key));
      if (reader->Size() < from + n)
        co_return Status(Err::kCorruption,
                         "data " + seg.data_id + " is shorter than its index entry");
      SLUICE_CO_RETURN_IF_ERROR(co_await reader->Send(sink, from, n, ctx.svc.limits.io_buffer));
      offset += n;
      len -= n;
    }
    seg_start = seg_end;
  }
  co_return Status::Ok();
}

// The one data id and offset holding [e.offset, e.offset + e.length) of a file-backed,
// unencrypted entry, when one segment holds all of it.
std::optional<std::pair<std::string, uint64_t>> OneSegment(const Entry& e) {
  if (e.inline_object || !e.object_key.empty() || !e.status.ok() || e.length == 0) return {};
  uint64_t seg_start = 0;
  for (const auto& seg : e.meta.segments) {
    if (e.offset >= seg_start && e.offset - seg_start + e.length <= seg.size)
      return std::make_pair(seg.data_id, e.offset - seg_start);
    seg_start += seg.size;
  }
  return {};
}

// Reads ahead, in one DataStore::ReadMany, the members from entries[from] on that fit the
// limits above. Returns where the next read-ahead starts. A failed read fails the answer,
// as a failed send would (the client sees it cut short).
Task<Result<size_t>> ReadAhead(Ctx& ctx, std::vector<Entry>& entries, size_t from) {
  std::vector<storage::DataStore::RangeRead> reads;
  std::vector<Entry*> readers;
  uint64_t bytes = 0;
  size_t i = from;
  for (; i < entries.size() && i - from < kReadAheadEntries; ++i) {
    Entry& e = entries[i];
    if (e.length > kReadAheadMember) continue;
    auto where = OneSegment(e);
    if (!where) continue;
    if (bytes + e.length > kReadAheadBytes) break;
    bytes += e.length;
    reads.push_back({std::move(where->first), where->second, e.length, {}, Status::Ok()});
    readers.push_back(&e);
  }
  if (reads.empty()) co_return i;
  co_await ctx.svc.data->ReadMany(reads);
  for (size_t r = 0; r < reads.size(); ++r) {
    if (!reads[r].status.ok()) co_return DataOpenFailed(reads[r].status, reads[r].id);
    readers[r]->bytes = std::move(reads[r].bytes);
    readers[r]->read_ahead = true;
  }
  co_return i;
}

// The member entries of entries[from, to): their archives' records (into `archives`, used
// by an entry only once its own authorization passed), then each archive's members in one
// index call (FindMembers), into `out`. An archive that cannot be read is left to Resolve,
// which says why for each entry.
Task<void> LookupMembers(Ctx& ctx, std::vector<Entry>& entries, size_t from, size_t to,
                         Archives* archives, WindowMembers* out) {
  out->clear();
  std::map<std::string, std::pair<const Entry*, std::vector<std::string>>> by_archive;
  for (size_t j = from; j < to; ++j) {
    const Entry& e = entries[j];
    if (!e.status.ok() || e.member.empty()) continue;
    auto& [first, names] = by_archive[ArchiveId(e)];
    if (!first) first = &e;
    names.push_back(e.member);
  }
  for (auto& [archive_id, group] : by_archive) {
    auto& [first, names] = group;
    auto it = archives->find(archive_id);
    if (it == archives->end()) {
      auto found = co_await LookupVersion(ctx, ctx.bucket, first->key, first->version);
      if (!found.ok() || found->delete_marker || found->segments.empty()) continue;
      it = archives->emplace(archive_id, std::move(found).value()).first;
    }
    auto members = co_await FindMembers(ctx, first->key, it->second, names);
    for (size_t k = 0; k < names.size(); ++k)
      out->emplace(std::make_pair(archive_id, std::move(names[k])), std::move(members[k]));
  }
}

}  // namespace

Task<Status> BatchGet(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  std::vector<Entry> entries;
  bool error_entries = false;
  {
    SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                               co_await payload->ReadAll(kMaxBatchGetBody, Err::kMalformedXML));
    SLUICE_CO_ASSIGN_OR_RETURN(BatchGetRequest request, ParseBatchGet(body));
    error_entries = request.error_entries;
    entries.reserve(request.items.size());
    for (auto& item : request.items) {
      Entry& e = entries.emplace_back();  // in place: an Entry is large to move
      e.name = item.member.empty() ? std::move(item.name) : item.member;
      e.key = std::move(item.key);
      e.member = std::move(item.member);
      e.version = item.version;
      e.range = std::move(item.range);
      e.status = std::move(item.invalid);
    }
  }

  uint64_t total = kTarEndSize;
  uint64_t inline_budget = kInlineBudget;
  Archives archives;
  // Plain entries (the latest version, no member) are looked up a window at a time.
  auto plain = [](const Entry& e) {
    return e.status.ok() && e.member.empty() && e.version.empty();
  };
  std::vector<ObjectKey> window_keys;
  std::vector<Result<meta::ObjectMeta>> window_found;
  size_t next_found = 0;
  WindowMembers window_members;
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    if (i % kLookupWindow == 0) {
      window_keys.clear();
      for (size_t j = i; j < std::min(entries.size(), i + kLookupWindow); ++j)
        if (plain(entries[j])) window_keys.push_back(entries[j].key);
      window_found.clear();
      if (!window_keys.empty()) window_found = co_await LookupLatest(ctx, ctx.bucket, window_keys);
      SLUICE_CHECK(window_found.size() == window_keys.size(), "an answer for every key asked");
      next_found = 0;
      const size_t end = std::min(entries.size(), i + kLookupWindow);
      co_await LookupMembers(ctx, entries, i, end, &archives, &window_members);
    }
    Result<meta::ObjectMeta>* found = plain(e) ? &window_found[next_found++] : nullptr;
    const Result<TarEntry>* member_found = nullptr;
    if (!e.member.empty()) {
      auto it = window_members.find(std::make_pair(ArchiveId(e), e.member));
      if (it != window_members.end()) member_found = &it->second;
    }
    if (e.status.ok())
      e.status = co_await Resolve(ctx, e, found, member_found, &inline_budget, &archives);
    // An SSE-S3 object is decrypted as it goes out; an SSE-C one needs its key, which a
    // batch has no way to carry (docs/encryption.md).
    if (e.status.ok() && !e.meta.encryption.empty()) {
      auto key = ObjectKeyFor(e.meta.encryption, SseRequest{}, svc.sse_keys);
      if (key.ok())
        e.object_key = std::move(key).value();
      else
        e.status = Error(Err::kInvalidRequest,
                         "an SSE-C object cannot be read in a batch: GET it with its key");
    }
    if (!e.status.ok()) {
      if (!error_entries) {
        if (e.status.message().empty() || e.status.code() == Err::kAccessDenied) co_return e.status;
        co_return Error(e.status.code(), e.name + ": " + std::string(e.status.message()));
      }
      e.length = 0;
    }
    e.header = TarHeaderOf(MemberOf(e));
    total += e.header.size() + e.length + TarPadding(e.length);
  }

  http::ResponseHead head;
  head.Set("Content-Type", "application/x-tar");
  head.Set("x-sluice-batch-count", std::to_string(entries.size()));
  SLUICE_CO_RETURN_IF_ERROR(co_await ctx.resp.Begin(head, total));
  std::string out;
  out.reserve(kGather + kCopyBelow + 2048);
  GatherSink sink(ctx, out);
  Readers readers;
  const bool read_ahead = svc.data->ReadsManyAtOnce();
  size_t read_from = 0;  // where the next read-ahead starts
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    if (read_ahead && i == read_from) {
      SLUICE_CO_ASSIGN_OR_RETURN(read_from, co_await ReadAhead(ctx, entries, i));
      read_from = std::max(read_from, i + 1);
    }
    out += e.header;
    std::string().swap(e.header);
    if (e.length > 0 && e.read_ahead) {
      out += e.bytes;
      std::string().swap(e.bytes);
    } else if (e.length > 0 && e.inline_kept) {
      out.append(std::string_view(e.meta.inline_data).substr(e.offset, e.length));
    } else if (e.length > 0 && e.inline_object) {
      // Read again as it goes out: the bytes must be those of the version sized above.
      const Result<meta::ObjectMeta> again =
          co_await LookupVersion(ctx, ctx.bucket, e.key, e.version);
      if (!again.ok() || again->etag != e.meta.etag || again->size != e.meta.size)
        co_return Error(Err::kInternal,
                        "an object of the batch changed while it was sent: " + e.name);
      out.append(std::string_view(again->inline_data).substr(e.offset, e.length));
    } else if (e.length > 0) {
      SLUICE_CO_RETURN_IF_ERROR(
          co_await SendStored(ctx, e.meta, e.object_key, e.offset, e.length, readers, sink));
    }
    out.append(TarPadding(e.length), '\0');
    if (out.size() >= kGather) SLUICE_CO_RETURN_IF_ERROR(co_await Flush(ctx, out));
    std::string().swap(e.meta.inline_data);  // the bytes; the rest is small
  }
  out.append(kTarEndSize, '\0');
  co_return co_await Flush(ctx, out);
}

}  // namespace sluice::s3::ops
