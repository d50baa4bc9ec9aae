// Client-side SigV4 signing for tests, built from the same canonicalisation helpers the
// server verifies with, plus an independent check: the AWS vectors in sigv4_test.cc.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "auth/sigv4.h"
#include "common/hash.h"
#include "common/strings.h"

namespace sluice::testutil {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Adds x-amz-date, x-amz-content-sha256 and Authorization to `headers` (which must hold
// Host). Signs every header present.
inline void SignRequest(const std::string& method, const std::string& raw_path,
                        const std::string& raw_query, Headers& headers, const std::string& ak,
                        const std::string& sk, int64_t now_micros,
                        const std::string& payload_hash = "UNSIGNED-PAYLOAD") {
  std::string date = FormatAmzDate(now_micros);
  headers.emplace_back("x-amz-date", date);
  headers.emplace_back("x-amz-content-sha256", payload_hash);
  std::vector<std::pair<std::string, std::string>> lower;
  for (auto& [k, v] : headers) lower.emplace_back(ToLower(k), auth::CanonicalHeaderValue(v));
  std::sort(lower.begin(), lower.end());
  std::string creq =
      method + "\n" + auth::CanonicalUri(raw_path) + "\n" + auth::CanonicalQuery(raw_query) + "\n";
  std::string signed_list;
  for (auto& [k, v] : lower) {
    creq += k + ":" + v + "\n";
    if (!signed_list.empty()) signed_list += ";";
    signed_list += k;
  }
  creq += "\n" + signed_list + "\n" + payload_hash;
  std::string scope = date.substr(0, 8) + "/us-east-1/s3/aws4_request";
  std::string sts = "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + Sha256Hex(creq);
  std::string key = auth::DeriveSigningKey(sk, date.substr(0, 8), "us-east-1", "s3");
  headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + ak + "/" + scope +
                                            ", SignedHeaders=" + signed_list +
                                            ", Signature=" + HexEncode(HmacSha256(key, sts)));
}

}  // namespace sluice::testutil
