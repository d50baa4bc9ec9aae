// Request headers and form fields that ask for an S3 feature sluice does not have. Such a
// request gets 501 NotImplemented naming the header, never a silent success: an ignored
// x-amz-write-offset-bytes once replaced a user's log, and an ignored encryption header
// leaves data in plain text that the user believes encrypted.
#pragma once

#include <string_view>

#include "common/status.h"

namespace sluice::s3 {

// Checks one request header, or one POST form field (they share the names). kNotImplemented
// when it asks for a missing feature, else Ok. `appends`: the request is a PutObject, which
// takes x-amz-write-offset-bytes (an append); every other request refuses it.
Status CheckRequestField(std::string_view name, std::string_view value, bool appends = false);

}  // namespace sluice::s3
