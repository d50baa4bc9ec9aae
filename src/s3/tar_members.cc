#include "s3/tar_members.h"

#include <algorithm>

#include "common/check.h"
#include "s3/object_io.h"

namespace sluice::s3 {
namespace {

// An inline object's table, from its bytes: sorted by name, a repeated name keeping the
// later member (as the index's table does). Empty when the bytes are not a tar archive.
std::vector<TarEntry> InlineMembers(const meta::ObjectMeta& m) {
  TarIndexer tar;
  tar.Update(m.inline_data.data(), m.inline_data.size());
  auto found = tar.Finish();
  if (!found) return {};
  std::vector<TarEntry> all = std::move(*found);
  std::stable_sort(all.begin(), all.end(),
                   [](const TarEntry& a, const TarEntry& b) { return a.name < b.name; });
  std::vector<TarEntry> out;
  for (size_t i = 0; i < all.size(); i++)
    if (i + 1 == all.size() || all[i + 1].name != all[i].name) out.push_back(std::move(all[i]));
  return out;
}

Status NotAnArchive() {
  return Error(Err::kInvalidRequest,
               "the object is not a tar archive with a member table (docs/tar-members.md)");
}

// The headers of the stored bytes of `m`, read in order, member data skipped.
Result<std::optional<std::vector<TarEntry>>> ScanBlocking(storage::DataStore& data,
                                                          const meta::ObjectMeta& m) {
  TarIndexer tar;
  size_t seg = 0;
  uint64_t seg_start = 0;
  std::unique_ptr<storage::DataReader> reader;
  char buf[512];
  while (!tar.done() && tar.position() < m.size) {
    if (uint64_t skip = std::min(tar.Skippable(), m.size - tar.position())) {
      tar.Skip(skip);
      continue;
    }
    const uint64_t pos = tar.position();
    while (seg < m.segments.size() && pos >= seg_start + m.segments[seg].size) {
      seg_start += m.segments[seg].size;
      seg++;
      reader.reset();
    }
    if (seg == m.segments.size()) break;
    if (!reader) {
      auto opened = data.Open(m.segments[seg].data_id);
      if (!opened.ok()) return DataOpenFailed(opened.status(), m.segments[seg].data_id);
      reader = std::move(opened).value();
    }
    const uint64_t n = std::min<uint64_t>(sizeof buf, seg_start + m.segments[seg].size - pos);
    size_t got = 0;
    SLUICE_RETURN_IF_ERROR(reader->Read(pos - seg_start, buf, n, &got));
    if (got == 0) return Status(Err::kCorruption, "short read of " + m.segments[seg].data_id);
    tar.Update(buf, got);
  }
  return tar.Finish();
}

}  // namespace

void AttachMembers(TarIndexer& tar, meta::ObjectMeta* m) {
  m->tar_members = 0;
  m->members.clear();
  auto found = tar.Finish();
  if (!found || found->empty() || m->segments.empty()) return;
  m->tar_members = found->size();
  m->members = std::move(*found);
}

Task<Status> ScanMembers(const Services& svc, meta::ObjectMeta* m) {
  m->tar_members = 0;
  m->members.clear();
  if (m->segments.empty()) co_return Status::Ok();  // inline: read from its bytes when asked
  auto scan = [&svc, m] { return ScanBlocking(svc.data->backend(), *m); };
  SLUICE_CO_ASSIGN_OR_RETURN(auto found, co_await svc.data->Blocking(scan));
  if (!found || found->empty()) co_return Status::Ok();
  m->tar_members = found->size();
  m->members = std::move(*found);
  co_return Status::Ok();
}

Task<Result<TarEntry>> FindMember(Ctx& ctx, const ObjectKey& key, const meta::ObjectMeta& m,
                                  const std::string& name) {
  if (m.segments.empty()) {
    std::vector<TarEntry> all = InlineMembers(m);
    if (all.empty()) co_return NotAnArchive();
    for (auto& e : all)
      if (e.name == name) co_return std::move(e);
  } else {
    if (m.tar_members == 0) co_return NotAnArchive();
    auto found =
        co_await ctx.svc.index->GetMember(ctx.bucket, key, m.segments.front().data_id, name);
    if (found.ok() || found.status().code() != Err::kNotFound) co_return found;
  }
  co_return Error(Err::kNoSuchKey, "the archive has no member named " + name);
}

Task<std::vector<Result<TarEntry>>> FindMembers(Ctx& ctx, const ObjectKey& key,
                                                const meta::ObjectMeta& m,
                                                const std::vector<std::string>& names) {
  std::vector<Result<TarEntry>> out;
  out.reserve(names.size());
  if (m.segments.empty() || m.tar_members == 0) {  // an inline archive, or none: as one by one
    for (const auto& name : names) {
      auto found = co_await FindMember(ctx, key, m, name);
      out.push_back(std::move(found));
    }
    co_return out;
  }
  auto found =
      co_await ctx.svc.index->GetMembers(ctx.bucket, key, m.segments.front().data_id, names);
  SLUICE_CHECK(found.size() == names.size(), "an answer for every member asked");
  for (size_t i = 0; i < names.size(); ++i) {
    if (found[i].ok() || found[i].status().code() != Err::kNotFound)
      out.push_back(std::move(found[i]));
    else
      out.push_back(Error(Err::kNoSuchKey, "the archive has no member named " + names[i]));
  }
  co_return out;
}

Task<Result<std::vector<TarEntry>>> ListMembersOf(Ctx& ctx, const ObjectKey& key,
                                                  const meta::ObjectMeta& m,
                                                  const std::string& after, size_t max) {
  if (m.segments.empty()) {
    std::vector<TarEntry> all = InlineMembers(m);
    if (all.empty()) co_return NotAnArchive();
    std::vector<TarEntry> out;
    for (auto& e : all)
      if (e.name > after && out.size() < max) out.push_back(std::move(e));
    co_return out;
  }
  if (m.tar_members == 0) co_return NotAnArchive();
  co_return co_await ctx.svc.index->ListMembers(ctx.bucket, key, m.segments.front().data_id, after,
                                                max);
}

std::string MemberEtag(const meta::ObjectMeta& m, const TarEntry& e) {
  return m.etag + "-m" + std::to_string(e.offset);
}

}  // namespace sluice::s3
