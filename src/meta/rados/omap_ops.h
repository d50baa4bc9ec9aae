// Raw omap operations on index shards, shared by splits (rados_split.cc) and listing packs
// (rados_pack.cc). Internal to meta/rados.
#pragma once

#include <cerrno>
#include <map>
#include <rados/librados.hpp>
#include <set>
#include <string>

#include "common/status.h"
#include "io/rados/rados_cluster.h"
#include "meta/rados/shards.h"

namespace sluice::meta::omap {

constexpr size_t kPage = 1000;       // omap entries per read
constexpr size_t kWriteBatch = 500;  // omap entries per write

using Entries = std::map<std::string, librados::bufferlist>;

inline Status ReadRaw(librados::IoCtx& io, const std::string& oid,
                      const std::set<std::string>& keys, Entries* out) {
  if (keys.empty()) return Status::Ok();
  librados::ObjectReadOperation op;
  int rv = 0;
  Entries got;
  op.omap_get_vals_by_keys(keys, &got, &rv);
  const int r = io.operate(oid, &op, nullptr);
  if (r < 0 && r != -ENOENT) return io::RadosStatus(r, "reading index shard " + oid);
  out->insert(got.begin(), got.end());
  return Status::Ok();
}

// Entries of `oid` from `start` (included) under `prefix`, while `keep(key)` says so.
template <class Keep>
Status Scan(librados::IoCtx& io, const std::string& oid, const std::string& start,
            const std::string& prefix, Keep keep, Entries* out) {
  Entries exact;
  SLUICE_RETURN_IF_ERROR(ReadRaw(io, oid, {start}, &exact));
  for (auto& [k, v] : exact) {
    if (k.compare(0, prefix.size(), prefix) != 0 || !keep(k)) return Status::Ok();
    out->emplace(k, v);
  }
  std::string after = start;
  for (bool more = true; more;) {
    librados::ObjectReadOperation op;
    int rv = 0;
    Entries page;
    op.omap_get_vals2(after, prefix, kPage, &page, &more, &rv);
    const int r = io.operate(oid, &op, nullptr);
    if (r == -ENOENT) return Status::Ok();
    if (r < 0) return io::RadosStatus(r, "reading index shard " + oid);
    for (auto& [k, v] : page) {
      if (!keep(k)) return Status::Ok();
      out->emplace(k, v);
    }
    if (page.empty()) break;
    after = page.rbegin()->first;
  }
  return Status::Ok();
}

// Guards `op` on `key` holding `value` ("": absent). `rv` outlives the operation.
inline void GuardEq(librados::ObjectWriteOperation* op, const std::string& key,
                    const std::string& value, int* rv) {
  librados::bufferlist bl;
  bl.append(value);
  op->omap_cmp({{key, std::make_pair(bl, LIBRADOS_CMPXATTR_OP_EQ)}}, rv);
}

inline Status ReadRangeOf(librados::IoCtx& io, const std::string& oid, std::string* raw,
                          shards::Range* range) {
  Entries got;
  SLUICE_RETURN_IF_ERROR(ReadRaw(io, oid, {shards::kRangeKey}, &got));
  auto it = got.find(shards::kRangeKey);
  std::optional<std::string> v;
  if (it != got.end()) v = it->second.to_str();
  *raw = v.value_or("");
  return shards::RangeOf(v, range);
}

// Sets "!range" of `oid` to `next` if it is still `expect` ("" absent).
inline Status SwapRange(librados::IoCtx& io, const std::string& oid, const std::string& expect,
                        const std::string& next, bool* swapped) {
  librados::ObjectWriteOperation op;
  int cmp_rv = 0;
  GuardEq(&op, shards::kRangeKey, expect, &cmp_rv);
  librados::bufferlist n;
  n.append(next);
  op.omap_set({{shards::kRangeKey, n}});
  const int r = io.operate(oid, &op);
  *swapped = r == 0;
  if (r == -ECANCELED) return Status::Ok();
  return io::RadosStatus(r, "changing the range of index shard " + oid);
}

// The keys of `oid` after `after` that start with `prefix`, in order, a page at a time;
// `each(key)` sees every one of a page before the next page is read.
template <class Each>
Status ScanKeys(librados::IoCtx& io, const std::string& oid, std::string after,
                const std::string& prefix, Each each) {
  for (bool more = true; more;) {
    librados::ObjectReadOperation op;
    std::set<std::string> keys;
    int rv = 0;
    op.omap_get_keys2(after, kPage, &keys, &more, &rv);
    const int r = io.operate(oid, &op, nullptr);
    if (r == -ENOENT) return Status::Ok();
    if (r < 0) return io::RadosStatus(r, "reading index shard " + oid);
    for (const auto& k : keys) {
      if (k.compare(0, prefix.size(), prefix) != 0) return Status::Ok();
      SLUICE_RETURN_IF_ERROR(each(k));
    }
    if (keys.empty()) break;
    after = *keys.rbegin();
  }
  return Status::Ok();
}

}  // namespace sluice::meta::omap
