#include "s3/object_io.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <functional>

#include "common/frame_cipher.h"
#include "common/md5.h"
#include "common/strings.h"
#include "s3/sse.h"

namespace sluice::s3 {

Task<Result<Stored>> StoreBody(Ctx& ctx, Payload& payload, bool allow_inline, uint64_t max_size,
                               const UploadId& upload, TarIndexer* tar,
                               const std::string* encrypt_key) {
  const Services& svc = ctx.svc;
  Stored out;
  auto declared = payload.declared_size();
  if (declared && *declared > max_size)
    co_return Error(Err::kEntityTooLarge, "Your proposed upload exceeds the maximum allowed size");
  // Inline only when the size is known up front and small.
  if (allow_inline && !encrypt_key && declared && *declared <= svc.limits.inline_threshold) {
    if (Status room = svc.data->backend().AdmitInline(*declared); !room.ok()) co_return room;
    out.inline_data.resize(*declared + 1);
    size_t got = 0;
    for (;;) {
      auto r = co_await payload.Read(out.inline_data.data() + got, out.inline_data.size() - got);
      if (!r.ok()) co_return r.status();
      if (*r == 0) break;
      got += *r;
      if (got > *declared) co_return Error(Err::kIncompleteBody, "body longer than Content-Length");
    }
    out.inline_data.resize(got);
    out.size = got;
    out.md5 = payload.md5();
    co_return out;
  }
  const std::string owner = meta::DataOwner{ctx.bucket, ctx.key, upload}.Encode();
  // (No ?: inside a co_await expression: GCC 12 miscompiles it.)
  uint64_t hint = declared.value_or(0);
  if (encrypt_key && declared) hint = FrameCipher::StoredSize(*declared);
  auto w = co_await svc.data->Create(hint, owner);
  if (!w.ok()) co_return w.status();
  if (encrypt_key) *w = EncryptingWriter(std::move(*w), *encrypt_key);
  std::function<void(const char*, size_t)> also;
  if (tar) also = [tar](const char* p, size_t n) { tar->Update(p, n); };
  co_return co_await StoreBodyInto(ctx, payload, std::move(*w), max_size, std::move(also));
}

Task<Result<Stored>> StoreBodyInto(Ctx& ctx, Payload& payload,
                                   std::unique_ptr<storage::DataWriter> writer, uint64_t max_size,
                                   std::function<void(const char*, size_t)> also) {
  const Services& svc = ctx.svc;
  Stored out;
  out.writer = std::move(writer);
  const uint64_t start = out.writer->size();
  // The writer says how it wants its appends (storage::DataWriter::Shape). One whose
  // appends block is fed from the blocking pool, in its own piece size and alignment.
  const storage::DataWriter::Shape shape = out.writer->shape();
  const bool offload = shape.blocks;
  const size_t align = std::max<size_t>(shape.align, alignof(std::max_align_t));
  const size_t piece = shape.piece ? shape.piece : svc.limits.io_buffer;
  // Two pieces when appends block: one is hashed and written on the pool while the next
  // is read from the socket.
  using Buffer = std::unique_ptr<char, decltype(&std::free)>;
  Buffer bufs[2] = {Buffer(nullptr, &std::free), Buffer(nullptr, &std::free)};
  for (int i = 0; i < (offload ? 2 : 1); ++i) {
    bufs[i].reset(
        static_cast<char*>(std::aligned_alloc(align, (piece + align - 1) / align * align)));
    if (!bufs[i]) co_return Error(Err::kInternal, "out of memory for an upload buffer");
  }
  storage::DataWriter* wp = out.writer.get();
  // Offloaded pieces are hashed on the pool, in SIMD lanes alongside the pieces of other
  // uploads being hashed at the same moment (a multipart upload's parts, above all).
  Md5Stream md5;
  if (offload) payload.DeferMd5();
  // The piece being hashed and the same piece being written, side by side on the pool.
  // Every way out waits for both first: they read a buffer, the hash and the writer,
  // which leaving frees.
  std::optional<Background<Status>> hashing, writing;
  auto settle = [&]() -> Task<Status> {
    Status s = Status::Ok();
    if (hashing) {
      s = co_await hashing->Wait();
      hashing.reset();
    }
    if (writing) {
      Status w = co_await writing->Wait();
      writing.reset();
      if (s.ok()) s = std::move(w);
    }
    co_return s;
  };
  uint64_t total = 0;
  int cur = 0;
  for (bool end = false; !end;) {
    char* b = bufs[cur].get();
    size_t have = 0;
    Status failed = Status::Ok();
    while (have < piece) {  // fill the piece (a plain read returns what one recv gave)
      auto r = co_await payload.Read(b + have, piece - have);
      if (!r.ok()) {
        failed = r.status();
        break;
      }
      if (*r == 0) {
        end = true;
        break;
      }
      have += *r;
      if (!offload) break;
    }
    total += have;
    if (failed.ok() && total > max_size)
      failed = Error(Err::kEntityTooLarge, "Your proposed upload exceeds the maximum allowed size");
    if (!failed.ok()) {
      Status ignored = co_await settle();  // the writer's destructor then discards the data
      (void)ignored;
      co_return failed;
    }
    if (have == 0) break;
    if (offload) {
      SLUICE_CO_RETURN_IF_ERROR(co_await settle());  // appends stay in order
      hashing.emplace(*svc.blocking, [b, have, &md5, &also] {
        md5.UpdateShared(b, have);
        if (also) also(b, have);
        return Status::Ok();
      });
      writing.emplace(svc.data->StartAppend(*wp, b, have));
      cur ^= 1;
    } else {
      if (also) also(b, have);
      SLUICE_CO_RETURN_IF_ERROR(co_await svc.data->Append(*wp, b, have));
    }
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await settle());
  if (offload) SLUICE_CO_RETURN_IF_ERROR(payload.SetMd5(md5.Finish()));  // before the commit
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.data->Commit(*wp));
  out.size = out.writer->size() - start;
  out.md5 = payload.md5();
  co_return out;
}

Status DataOpenFailed(Status st, const std::string& data_id) {
  if (st.code() != Err::kNotFound) return st;
  spdlog::error("data {} named by the index is missing from the store: {}", data_id, st.ToString());
  return Error(Err::kInternal, "the object's data is missing from the store (data " + data_id +
                                   "): a storage fault, reported to the server's log");
}

void ReleaseData(const Services& svc, std::vector<std::string> ids) {
  // The GC entries are cleared from the pool, after the deletes: a blocking call there.
  meta::Index* index = &svc.index->backend();
  svc.data->DeleteLater(std::move(ids), [index](const std::vector<std::string>& done) {
    if (done.empty()) return;
    Status s = index->GcDone(done);
    if (!s.ok()) spdlog::warn("clearing GC entries: {}", s.ToString());
  });
}

Status SettleWrite(const Services& svc, const std::vector<std::string>& new_ids, Status committed,
                   std::vector<std::string> released) {
  if (!committed.ok()) {
    // Never referenced: deleted (recovery collects it after a crash). Except when the index
    // could not tell whether the commit applied (kServiceUnavailable: a RADOS operation that
    // timed out may still have been applied): then the data stays unpublished, its intent
    // kept, and recovery settles it by asking the index (meta/api/index.h).
    if (committed.code() != Err::kServiceUnavailable) svc.data->DeleteLater(new_ids);
    return committed;
  }
  // Moving data to its final place may sync (a directory, for the local store): after the
  // reply. The index commit is what made the write durable.
  svc.data->PublishedLater(new_ids);
  ReleaseData(svc, std::move(released));
  return committed;
}

void AttachStored(Stored& stored, int64_t now_micros, meta::ObjectMeta* m,
                  std::vector<std::string>* new_ids) {
  m->size = stored.size;
  m->etag = HexEncode(stored.md5);
  m->mtime_micros = now_micros;
  if (stored.writer) {
    m->segments.push_back({stored.writer->id(), stored.size, ""});
    new_ids->push_back(stored.writer->id());
  } else {
    m->inline_data = std::move(stored.inline_data);
  }
}

Task<Result<meta::PartInfo>> PublishPart(Ctx& ctx, const UploadId& upload_id, uint32_t number,
                                         const Stored& stored, ChecksumAlgo algo,
                                         const std::string& checksum_b64) {
  const Services& svc = ctx.svc;
  meta::PartInfo p;
  p.number = number;
  p.size = stored.size;
  p.etag = HexEncode(stored.md5);
  p.mtime_micros = svc.clock->NowMicros();
  p.data_id = stored.writer->id();
  if (algo != ChecksumAlgo::kNone) {
    p.checksum_algo = ChecksumAlgoName(algo);
    p.checksum_value = checksum_b64;
  }
  std::vector<std::string> released;
  Status s = co_await svc.index->PutPart(ctx.bucket, ctx.key, upload_id, p, &released);
  SLUICE_CO_RETURN_IF_ERROR(SettleWrite(svc, {p.data_id}, std::move(s), std::move(released)));
  co_return p;
}

namespace {

// The HTTP response as the data store sees it.
class ResponseSink final : public storage::ByteSink {
 public:
  explicit ResponseSink(http::Responder& resp) : resp_(resp) {}
  Task<Status> Write(std::string_view bytes) override { co_return co_await resp_.Write(bytes); }
  Task<Status> SendFile(int fd, uint64_t offset, uint64_t n) override {
    co_return co_await resp_.SendFile(fd, offset, n);
  }

 private:
  http::Responder& resp_;
};

}  // namespace

Task<Status> SendData(Ctx& ctx, const storage::DataReader& reader, uint64_t offset, uint64_t n) {
  ResponseSink sink(ctx.resp);
  co_return co_await reader.Send(sink, offset, n, ctx.svc.limits.io_buffer);
}

namespace {
std::unique_ptr<storage::DataReader> Plain(const Ctx& ctx, std::unique_ptr<storage::DataReader> r,
                                           std::string_view object_key,
                                           const std::string& data_id) {
  if (object_key.empty()) return r;
  return DecryptingReader(std::move(r), object_key, data_id, ctx.svc.blocking);
}
}  // namespace

Task<Result<std::unique_ptr<storage::DataReader>>> OpenFirstSegment(Ctx& ctx,
                                                                    const meta::ObjectMeta& m,
                                                                    uint64_t offset, uint64_t len,
                                                                    std::string_view object_key) {
  std::unique_ptr<storage::DataReader> none;
  if (m.segments.empty() || len == 0) co_return none;
  uint64_t seg_start = 0;
  for (const auto& seg : m.segments) {
    if (offset < seg_start + seg.size) {
      auto reader = co_await ctx.svc.data->Open(seg.data_id);
      if (!reader.ok()) co_return DataOpenFailed(reader.status(), seg.data_id);
      co_return Plain(ctx, std::move(reader).value(), object_key, seg.data_id);
    }
    seg_start += seg.size;
  }
  co_return none;
}

Task<Status> SendObjectRange(Ctx& ctx, const meta::ObjectMeta& m, uint64_t offset, uint64_t len,
                             std::unique_ptr<storage::DataReader> first,
                             std::string_view object_key) {
  if (len == 0) co_return Status::Ok();
  if (m.segments.empty()) {
    if (!object_key.empty())
      co_return Status(Err::kCorruption, "an encrypted object without data segments");
    co_return co_await ctx.resp.Write(std::string_view(m.inline_data).substr(offset, len));
  }
  ResponseSink sink(ctx.resp);
  uint64_t seg_start = 0;
  for (const auto& seg : m.segments) {
    uint64_t seg_end = seg_start + seg.size;
    if (offset < seg_end && len > 0) {
      uint64_t from = offset - seg_start;
      uint64_t n = std::min<uint64_t>(len, seg.size - from);
      Result<std::unique_ptr<storage::DataReader>> reader = std::move(first);
      if (!*reader) {
        reader = co_await ctx.svc.data->Open(seg.data_id);
        if (reader.ok()) *reader = Plain(ctx, std::move(*reader), object_key, seg.data_id);
      }
      if (!reader.ok()) co_return DataOpenFailed(reader.status(), seg.data_id);
      if ((*reader)->Size() < from + n)
        co_return Status(Err::kCorruption,
                         "data " + seg.data_id + " is shorter than its index entry");
      SLUICE_CO_RETURN_IF_ERROR(co_await (*reader)->Send(sink, from, n, ctx.svc.limits.io_buffer));
      offset += n;
      len -= n;
    }
    seg_start = seg_end;
  }
  co_return Status::Ok();
}

// The copy itself: blocking reads and appends, run as one job on the pool.
Result<Stored> CopyDataBlocking(const Services& svc, storage::DataStore& data,
                                const meta::ObjectMeta& src, uint64_t offset, uint64_t len,
                                bool allow_inline, const std::string& owner,
                                std::string_view src_key, std::string_view dst_key) {
  Stored out;
  Hasher md5(Hasher::Kind::kMd5);
  out.size = len;
  if (!src_key.empty() && src.segments.empty() && src.size > 0)
    return Status(Err::kCorruption, "an encrypted object without data segments");
  if (!src.encryption.empty() && src_key.empty())
    return Status(Err::kInternal, "a copy of an encrypted object without its key");
  // An encrypted copy is never inline, and its writer encrypts.
  if (!dst_key.empty()) allow_inline = false;
  auto create = [&]() -> Result<std::unique_ptr<storage::DataWriter>> {
    if (dst_key.empty()) return data.Create(len, owner);
    SLUICE_ASSIGN_OR_RETURN(auto w, data.Create(FrameCipher::StoredSize(len), owner));
    return EncryptingWriter(std::move(w), dst_key);
  };
  if (src.segments.empty()) {
    std::string_view bytes = std::string_view(src.inline_data).substr(offset, len);
    md5.Update(bytes);
    out.md5 = md5.Finish();
    if (allow_inline && len <= svc.limits.inline_threshold) {
      SLUICE_RETURN_IF_ERROR(data.AdmitInline(len));
      out.inline_data.assign(bytes);
      return out;
    }
    SLUICE_ASSIGN_OR_RETURN(out.writer, create());
    SLUICE_RETURN_IF_ERROR(out.writer->Append(bytes.data(), bytes.size()));
    SLUICE_RETURN_IF_ERROR(out.writer->Commit());
    return out;
  }
  bool to_inline = allow_inline && len <= svc.limits.inline_threshold;
  if (to_inline) SLUICE_RETURN_IF_ERROR(data.AdmitInline(len));
  if (!to_inline) {
    SLUICE_ASSIGN_OR_RETURN(out.writer, create());
  }
  std::unique_ptr<char[]> buf(new char[svc.limits.io_buffer]);
  uint64_t seg_start = 0;
  for (const auto& seg : src.segments) {
    uint64_t seg_end = seg_start + seg.size;
    if (offset < seg_end && len > 0) {
      auto opened = data.Open(seg.data_id);
      if (!opened.ok()) return DataOpenFailed(opened.status(), seg.data_id);
      auto reader = std::move(opened).value();
      if (!src_key.empty())  // on the pool already: reads decrypt here
        reader = DecryptingReader(std::move(reader), src_key, seg.data_id, nullptr);
      uint64_t pos = offset - seg_start;
      uint64_t n = std::min<uint64_t>(len, seg.size - pos);
      while (n > 0) {
        size_t got = 0;
        SLUICE_RETURN_IF_ERROR(
            reader->Read(pos, buf.get(), std::min<uint64_t>(n, svc.limits.io_buffer), &got));
        if (got == 0) return Status(Err::kCorruption, "short read of " + seg.data_id);
        md5.Update(buf.get(), got);
        if (to_inline)
          out.inline_data.append(buf.get(), got);
        else
          SLUICE_RETURN_IF_ERROR(out.writer->Append(buf.get(), got));
        pos += got;
        n -= got;
        offset += got;
        len -= got;
      }
    }
    seg_start = seg_end;
  }
  out.md5 = md5.Finish();
  if (out.writer) SLUICE_RETURN_IF_ERROR(out.writer->Commit());
  return out;
}

Task<Result<Stored>> CopyData(const Services& svc, const meta::ObjectMeta& src, uint64_t offset,
                              uint64_t len, bool allow_inline, const std::string& owner,
                              std::string_view src_key, std::string_view dst_key) {
  co_return co_await svc.data->Blocking(
      [&svc, &src, offset, len, allow_inline, &owner, src_key, dst_key] {
        return CopyDataBlocking(svc, svc.data->backend(), src, offset, len, allow_inline, owner,
                                src_key, dst_key);
      });
}

}  // namespace sluice::s3
