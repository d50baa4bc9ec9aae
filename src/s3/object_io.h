// Moving object bytes between the network and the DataStore, shared by the operations.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/checksum.h"
#include "common/tar_index.h"
#include "meta/api/types.h"
#include "s3/context.h"
#include "s3/payload.h"

namespace sluice::s3 {

// Bytes stored by StoreBody: inline (small) or one committed, not yet published, segment.
struct Stored {
  uint64_t size = 0;
  std::string md5;  // raw
  std::string inline_data;
  std::unique_ptr<storage::DataWriter> writer;  // committed; empty when inline
};

// Streams the payload into the store, checking every digest, and makes it durable.
// Nothing is visible until the caller publishes it through the index, as a version of
// ctx.bucket/ctx.key or, with `upload`, as a part of that upload (the data's owner).
// `tar`, when given, sees the bytes of a stored (not inline) body in order, to find a tar
// archive's member table (s3/tar_members.h). `encrypt_key`, when given, is the object key
// the bytes are stored encrypted under (s3/sse.h); they are then never inline.
Task<Result<Stored>> StoreBody(Ctx& ctx, Payload& payload, bool allow_inline, uint64_t max_size,
                               const UploadId& upload = {}, TarIndexer* tar = nullptr,
                               const std::string* encrypt_key = nullptr);

// The same into a writer the caller opened (Create, or Extend for an append): `size` is
// what this call wrote. `also` sees every piece of the body in order (a hash over more than
// the body), on whichever thread hashes it.
Task<Result<Stored>> StoreBodyInto(Ctx& ctx, Payload& payload,
                                   std::unique_ptr<storage::DataWriter> writer, uint64_t max_size,
                                   std::function<void(const char*, size_t)> also);

// Fills size, ETag, mtime and the bytes (inline or one segment) of `m` from stored data,
// and the ids that the publish step adds.
void AttachStored(Stored& stored, int64_t now_micros, meta::ObjectMeta* m,
                  std::vector<std::string>* new_ids);

// Publishes stored data as part `number` of an upload (UploadPart, UploadPartCopy).
Task<Result<meta::PartInfo>> PublishPart(Ctx& ctx, const UploadId& upload_id, uint32_t number,
                                         const Stored& stored, ChecksumAlgo algo,
                                         const std::string& checksum_b64);

// For writes that add no data (deletes, completes).
inline const std::vector<std::string> kNoNewData;

// Settles the data of an index commit whose outcome is `committed`: on success `new_ids`
// are marked published and `released` (what the index let go) deleted; on failure
// `new_ids` are deleted. Both off the request path. Returns `committed`.
Status SettleWrite(const Services& svc, const std::vector<std::string>& new_ids, Status committed,
                   std::vector<std::string> released);

// Deletes released data off the request path, then clears the GC entries.
void ReleaseData(const Services& svc, std::vector<std::string> ids);

// The status of opening an object's data: the store's kNotFound (the index names data the
// store lacks) is a storage fault, kInternal, never the client's 404 NoSuchKey.
Status DataOpenFailed(Status st, const std::string& data_id);

// Sends [offset, offset+len) of an object whose head was already sent with Begin().
// `first`, when given, is the reader of the first segment the range touches, opened by
// OpenFirstSegment before the head went out (so a missing data file is still a clean 500).
// `object_key`: an encrypted object's key (s3/sse.h), empty for a plain one.
Task<Status> SendObjectRange(Ctx& ctx, const meta::ObjectMeta& m, uint64_t offset, uint64_t len,
                             std::unique_ptr<storage::DataReader> first = nullptr,
                             std::string_view object_key = {});
// Sends [offset, offset+n) of one data's bytes after Begin() (a read-through cache's fill
// in flight, s3/read_cache.h).
Task<Status> SendData(Ctx& ctx, const storage::DataReader& reader, uint64_t offset, uint64_t n);
// Opens the data of the segment holding byte `offset` (null for an object without
// segments, or an empty range): before Begin(), so its failure can still be answered.
Task<Result<std::unique_ptr<storage::DataReader>>> OpenFirstSegment(
    Ctx& ctx, const meta::ObjectMeta& m, uint64_t offset, uint64_t len,
    std::string_view object_key = {});

// Copies [offset, offset+len) of `src` into new durable data. Inline when small and
// allow_inline.
// `owner` as for StoreBody: meta::DataOwner::Encode() of where it will be published.
// `src_key`: the source's object key when it is encrypted (s3/sse.h), else empty;
// `dst_key`: the key to store the copy encrypted under (never inline then), else empty.
// The same on the calling thread, which may block (the replication worker's).
Result<Stored> CopyDataBlocking(const Services& svc, storage::DataStore& data,
                                const meta::ObjectMeta& src, uint64_t offset, uint64_t len,
                                bool allow_inline, const std::string& owner,
                                std::string_view src_key = {}, std::string_view dst_key = {});
Task<Result<Stored>> CopyData(const Services& svc, const meta::ObjectMeta& src, uint64_t offset,
                              uint64_t len, bool allow_inline, const std::string& owner,
                              std::string_view src_key = {}, std::string_view dst_key = {});

}  // namespace sluice::s3
