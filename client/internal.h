// Helpers shared by the client library's files; not part of the public API.
#pragma once

#include <sluice/client.h>

#include <string>

namespace sluice::client::internal {

// "/bucket/key", percent-encoded for the wire.
std::string ObjectPath(const std::string& bucket, const std::string& key);
// Throws ClientError("<what>: <S3 code>: <message> (HTTP n)") unless r.status is `want`
// (a 204 also satisfies 200).
void Expect(const Response& r, int want, const std::string& what);
std::string Unquote(std::string etag);
// Sleeps before retry number `attempt` (0-based): exponential backoff with full jitter.
void RetryDelay(int attempt);

}  // namespace sluice::client::internal
