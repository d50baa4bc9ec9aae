// Tar member tables (docs/tar-members.md), shared by the operations that write them (PUT,
// CompleteMultipartUpload, CopyObject) and those that read them (GET ?member=, ?members,
// BatchGet). The table of a stored object lives in the index under the data id of its first
// segment (meta::Index::GetMember); an inline object's is read from its bytes, which are at
// hand.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/tar_index.h"
#include "meta/api/types.h"
#include "s3/context.h"

namespace sluice::s3 {

// The table a finished TarIndexer found, put into `m` for the index to keep with the
// record: nothing for bytes that are not a tar archive, or one without regular files.
void AttachMembers(TarIndexer& tar, meta::ObjectMeta* m);

// Reads the table of a stored object from its bytes, headers only (member data is
// skipped): for objects whose bytes arrived in pieces that were not read in order (a
// multipart upload's parts) or were copied. Sets m->tar_members and m->members.
Task<Status> ScanMembers(const Services& svc, meta::ObjectMeta* m);

// The member `name` of object `m` (the latest or the version asked for): kNoSuchKey when
// the archive has none by that name; kInvalidRequest when `m` is not a tar archive with a
// table.
// `key` is the archive's own key.
Task<Result<TarEntry>> FindMember(Ctx& ctx, const ObjectKey& key, const meta::ObjectMeta& m,
                                  const std::string& name);

// FindMember of each of `names`, in their order: for a stored archive one index call
// (Index::GetMembers, one read on a networked index).
Task<std::vector<Result<TarEntry>>> FindMembers(Ctx& ctx, const ObjectKey& key,
                                                const meta::ObjectMeta& m,
                                                const std::vector<std::string>& names);

// Up to `max` members of `m` after `after`, in name order (bytewise).
Task<Result<std::vector<TarEntry>>> ListMembersOf(Ctx& ctx, const ObjectKey& key,
                                                  const meta::ObjectMeta& m,
                                                  const std::string& after, size_t max);

// A member's ETag: the archive's ETag and where the member sits in it (which fixes its
// bytes). Not an MD5 of the member, and never mistaken for one ("…-m<offset>").
std::string MemberEtag(const meta::ObjectMeta& m, const TarEntry& e);

}  // namespace sluice::s3
