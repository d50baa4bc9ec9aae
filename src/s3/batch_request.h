// The body of a BatchGet (`POST /bucket?batch-get`, docs/batch-get.md), parsed: which
// objects, in which order, and what to do with one that cannot be read. The operation is
// ops/batch_get.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/names.h"
#include "common/status.h"

namespace sluice::s3 {

struct BatchGetItem {
  std::string name;               // the key as the request spells it (the tar member's name)
  ObjectKey key;                  // valid when `invalid` is Ok
  VersionId version;              // empty: the latest
  std::string range;              // "bytes=…" as given (of the member, with one), or empty
  std::string member;             // a member of the tar object `key` (docs/tar-members.md)
  Status invalid = Status::Ok();  // a key or version id that does not parse
};

struct BatchGetRequest {
  bool error_entries = false;  // <OnError>entry</OnError>; default "fail"
  std::vector<BatchGetItem> items;
};

inline constexpr size_t kMaxBatchGetItems = 10000;
inline constexpr size_t kMaxBatchGetBody = 8 << 20;

// kMalformedXML for a body that is not a <BatchGet> of 1 to kMaxBatchGetItems <Object>s,
// each with a <Key> and optionally a <VersionId>, a <Range> and a non-empty <Member>
// (nothing else), and an optional <OnError> of "fail" or "entry".
Result<BatchGetRequest> ParseBatchGet(std::string_view body);

}  // namespace sluice::s3
