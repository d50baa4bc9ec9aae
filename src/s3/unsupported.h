// Request headers and form fields that ask for an S3 feature sluice does not have. Such a
// request gets 501 NotImplemented naming the header, never a silent success: an ignored
// x-amz-write-offset-bytes once replaced a user's log, and an ignored encryption header
// leaves data in plain text that the user believes encrypted.
#pragma once

#include <string_view>

#include "common/status.h"

namespace sluice::s3 {

// Which server-side encryption headers an operation takes (s3/sse.h): PutObject the
// x-amz-server-side-encryption header and the SSE-C three; GetObject and HeadObject the
// SSE-C three. Every other operation refuses them (501) for now.
// CopyObject takes PutObject's and the copy source's SSE-C three; UploadPartCopy the SSE-C
// three of the upload and of the copy source.
enum class SseFields { kNone, kRead, kWrite, kCopy, kPartCopy };

// Checks one request header, or one POST form field (they share the names). kNotImplemented
// when it asks for a missing feature, else Ok. `appends`: the request is a PutObject, which
// takes x-amz-write-offset-bytes (an append); every other request refuses it. `sse_seen`,
// when given, is set when the field is an encryption header the operation takes.
Status CheckRequestField(std::string_view name, std::string_view value, bool appends = false,
                         SseFields sse = SseFields::kNone, bool* sse_seen = nullptr);

}  // namespace sluice::s3
