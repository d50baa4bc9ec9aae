#include "s3/audit.h"

#include <cstdio>

#include "common/strings.h"

namespace sluice::s3 {

bool IsAudited(Op op) {
  switch (op) {
    case Op::kCreateBucket:
    case Op::kDeleteBucket:
    case Op::kPutBucketVersioning:
    case Op::kDeleteObjects:
    case Op::kDeleteObject:
    case Op::kAbortMultipartUpload:
    case Op::kDeleteObjectTagging:
    case Op::kDeleteBucketSubresource:
    case Op::kPutBucketAcl:
    case Op::kPutObjectAcl:
    case Op::kPutBucketCors:
    case Op::kDeleteBucketCors:
    case Op::kPutBucketEncryption:
    case Op::kDeleteBucketEncryption:
    case Op::kPutObjectLockConfiguration:
    case Op::kPutObjectRetention:
    case Op::kPutObjectLegalHold:
    case Op::kPutBucketReplication:
    case Op::kDeleteBucketReplication:
    case Op::kPutBucketLifecycle:
    case Op::kDeleteBucketLifecycle:
    case Op::kPutBucketPolicy:
    case Op::kDeleteBucketPolicy:
    case Op::kPutPublicAccessBlock:
    case Op::kDeletePublicAccessBlock:
    case Op::kPutBucketOwnershipControls:
    case Op::kDeleteBucketOwnershipControls:
      return true;
    default:
      return false;
  }
}

namespace {

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through as it came
        }
    }
  }
  out += '"';
}

void Field(std::string& out, std::string_view name, std::string_view value) {
  if (out.size() > 1) out += ',';
  AppendJsonString(out, name);
  out += ':';
  AppendJsonString(out, value);
}

}  // namespace

std::string RenderAuditLine(const AuditRecord& r) {
  std::string out = "{";
  Field(out, "time", FormatIso8601(r.time_micros));
  Field(out, "request_id", r.request_id);
  Field(out, "principal", r.principal);
  if (!r.access_key.empty()) Field(out, "access_key", r.access_key);
  Field(out, "remote", r.remote_ip);
  Field(out, "action", r.action);
  if (!r.bucket.empty()) Field(out, "bucket", r.bucket);
  if (!r.key.empty()) Field(out, "key", r.key);
  if (!r.version.empty()) Field(out, "version", r.version);
  if (!r.detail.empty()) Field(out, "detail", r.detail);
  out += ",\"status\":" + std::to_string(r.status);
  Field(out, "result", r.error.empty() ? std::string_view("ok") : std::string_view(r.error));
  out += "}\n";
  return out;
}

}  // namespace sluice::s3
