#include "s3/object_io.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cstdlib>

#include "common/md5.h"
#include "common/strings.h"

namespace sluice::s3 {

Task<Result<Stored>> StoreBody(Ctx& ctx, Payload& payload, bool allow_inline, uint64_t max_size) {
  const Services& svc = ctx.svc;
  Stored out;
  auto declared = payload.declared_size();
  if (declared && *declared > max_size)
    co_return Error(Err::kEntityTooLarge, "Your proposed upload exceeds the maximum allowed size");
  // Inline only when the size is known up front and small.
  if (allow_inline && declared && *declared <= svc.limits.inline_threshold) {
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
  auto w = svc.data->Create(declared.value_or(0));
  if (!w.ok()) co_return w.status();
  out.writer = std::move(*w);
  // A writer whose appends wait for the device is fed from the blocking pool, in pieces
  // large enough that the hop costs little next to the write.
  const bool offload = out.writer->AppendBlocks();
  // The piece is page-aligned, so a direct-I/O writer sends whole pieces with no copy.
  constexpr size_t kPage = 4096;
  const size_t piece =
      offload ? (std::max<size_t>(svc.limits.io_buffer, 1 << 20) + kPage - 1) / kPage * kPage
              : svc.limits.io_buffer;
  // Two pieces when writes are offloaded: one is hashed and written on the pool while the
  // next is read from the socket.
  using Buffer = std::unique_ptr<char, decltype(&std::free)>;
  Buffer bufs[2] = {Buffer(nullptr, &std::free), Buffer(nullptr, &std::free)};
  for (int i = 0; i < (offload ? 2 : 1); ++i) {
    bufs[i].reset(
        static_cast<char*>(std::aligned_alloc(kPage, (piece + kPage - 1) / kPage * kPage)));
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
      hashing.emplace(*svc.blocking, [b, have, &md5] {
        md5.UpdateShared(b, have);
        return Status::Ok();
      });
      writing.emplace(*svc.blocking, [wp, b, have] { return wp->Append(b, have); });
      cur ^= 1;
    } else {
      SLUICE_CO_RETURN_IF_ERROR(out.writer->Append(b, have));
    }
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await settle());
  if (offload) SLUICE_CO_RETURN_IF_ERROR(payload.SetMd5(md5.Finish()));  // before the commit
  SLUICE_CO_RETURN_IF_ERROR(co_await Offload(*svc.blocking, [wp] { return wp->Commit(); }));
  out.size = out.writer->size();
  out.md5 = payload.md5();
  co_return out;
}

void ReleaseData(const Services& svc, std::vector<std::string> ids) {
  if (ids.empty()) return;
  boost::asio::post(*svc.blocking, [&svc, ids = std::move(ids)] {
    std::vector<std::string> done;
    for (const auto& id : ids) {
      Status s = svc.data->Delete(id);
      if (s.ok())
        done.push_back(id);
      else
        spdlog::warn("deleting released data {}: {}", id, s.ToString());
    }
    Status s = svc.index->GcDone(done);
    if (!s.ok()) spdlog::warn("clearing GC entries: {}", s.ToString());
  });
}

Task<Status> Publish(Ctx& ctx, const std::vector<std::string>& new_ids,
                     std::function<Status(std::vector<std::string>* released)> commit) {
  const Services& svc = ctx.svc;
  std::vector<std::string> released;
  Status s = co_await Offload(*svc.blocking, [&] { return commit(&released); });
  if (!s.ok()) {
    for (const auto& id : new_ids) {
      Status d = svc.data->Delete(id);
      if (!d.ok()) spdlog::warn("discarding unpublished data {}: {}", id, d.ToString());
    }
    co_return s;
  }
  if (!new_ids.empty()) {
    // Moving data to its final place syncs a directory: done on the blocking pool, after
    // the reply. The index commit above is what made the write durable.
    boost::asio::post(*svc.blocking, [&svc, ids = new_ids] {
      for (const auto& id : ids) svc.data->Published(id);
    });
  }
  ReleaseData(svc, std::move(released));
  co_return Status::Ok();
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
  std::vector<std::string> new_ids{p.data_id};
  SLUICE_CO_RETURN_IF_ERROR(co_await Publish(ctx, new_ids, [&](std::vector<std::string>* rel) {
    return svc.index->PutPart(ctx.bucket, ctx.key, upload_id, p, rel);
  }));
  co_return p;
}

namespace {
constexpr uint64_t kWillReadMin = 4 << 20;
}  // namespace

Task<Status> SendObjectRange(Ctx& ctx, const meta::ObjectMeta& m, uint64_t offset, uint64_t len) {
  if (len == 0) co_return Status::Ok();
  if (m.segments.empty()) {
    co_return co_await ctx.resp.Write(std::string_view(m.inline_data).substr(offset, len));
  }
  uint64_t seg_start = 0;
  std::unique_ptr<char[]> buf;
  for (const auto& seg : m.segments) {
    uint64_t seg_end = seg_start + seg.size;
    if (offset < seg_end && len > 0) {
      uint64_t from = offset - seg_start;
      uint64_t n = std::min<uint64_t>(len, seg.size - from);
      auto reader = ctx.svc.data->Open(seg.data_id);
      if (!reader.ok()) co_return reader.status();
      if ((*reader)->Size() < from + n)
        co_return Status(Err::kCorruption,
                         "data " + seg.data_id + " is shorter than its index entry");
      // Large reads start the device on their range before the first sendfile. Objects of
      // 1 MiB or more are written with direct I/O, so a fresh one is not in the page cache.
      // The kernel caps one hint at the device's readahead window (8 MiB here: a page 12 MiB
      // into a cold file was still uncached a second after a whole-file hint); sendfile's
      // own readahead takes over from there. Hints that reach further, issued window by
      // window from the blocking pool, read cold shards no faster (bench/NOTES.md, PyTorch).
      if (n >= kWillReadMin) (*reader)->WillRead(from, n);
      int fd = (*reader)->NativeHandle();
      if (fd >= 0) {
        SLUICE_CO_RETURN_IF_ERROR(co_await ctx.resp.SendFile(fd, from, n));
      } else {
        if (!buf) buf.reset(new char[ctx.svc.limits.io_buffer]);
        uint64_t pos = from, left = n;
        while (left > 0) {
          size_t got = 0;
          SLUICE_CO_RETURN_IF_ERROR((*reader)->Read(
              pos, buf.get(), std::min<uint64_t>(left, ctx.svc.limits.io_buffer), &got));
          if (got == 0) co_return Status(Err::kCorruption, "short read of " + seg.data_id);
          SLUICE_CO_RETURN_IF_ERROR(co_await ctx.resp.Write(std::string_view(buf.get(), got)));
          pos += got;
          left -= got;
        }
      }
      offset += n;
      len -= n;
    }
    seg_start = seg_end;
  }
  co_return Status::Ok();
}

Result<Stored> CopyData(const Services& svc, const meta::ObjectMeta& src, uint64_t offset,
                        uint64_t len, bool allow_inline) {
  Stored out;
  Hasher md5(Hasher::Kind::kMd5);
  out.size = len;
  if (src.segments.empty()) {
    std::string_view bytes = std::string_view(src.inline_data).substr(offset, len);
    md5.Update(bytes);
    out.md5 = md5.Finish();
    if (allow_inline && len <= svc.limits.inline_threshold) {
      out.inline_data.assign(bytes);
      return out;
    }
    SLUICE_ASSIGN_OR_RETURN(out.writer, svc.data->Create(len));
    SLUICE_RETURN_IF_ERROR(out.writer->Append(bytes.data(), bytes.size()));
    SLUICE_RETURN_IF_ERROR(out.writer->Commit());
    return out;
  }
  bool to_inline = allow_inline && len <= svc.limits.inline_threshold;
  if (!to_inline) {
    SLUICE_ASSIGN_OR_RETURN(out.writer, svc.data->Create(len));
  }
  std::unique_ptr<char[]> buf(new char[svc.limits.io_buffer]);
  uint64_t seg_start = 0;
  for (const auto& seg : src.segments) {
    uint64_t seg_end = seg_start + seg.size;
    if (offset < seg_end && len > 0) {
      SLUICE_ASSIGN_OR_RETURN(auto reader, svc.data->Open(seg.data_id));
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

}  // namespace sluice::s3
