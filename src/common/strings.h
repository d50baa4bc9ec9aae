// Small string helpers shared by every layer: hex, URI encoding as AWS defines it,
// base64, ASCII case folding and HTTP/ISO dates. Pure functions; none reads the clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

std::string HexEncode(const void* data, size_t n);
inline std::string HexEncode(std::string_view s) { return HexEncode(s.data(), s.size()); }
// Returns nullopt on odd length or a non-hex digit.
std::optional<std::string> HexDecode(std::string_view hex);

// AWS URI encoding: every byte except A-Z a-z 0-9 - _ . ~ becomes %XX (uppercase hex);
// '/' is kept when encode_slash is false (the canonical URI of SigV4).
std::string UriEncode(std::string_view s, bool encode_slash);
// Percent-decoding; '+' is decoded to space only when plus_is_space is set (form bodies
// and x-amz-tagging). Returns nullopt on a malformed escape.
std::optional<std::string> UriDecode(std::string_view s, bool plus_is_space = false);
// The same into `out`, which has room for s.size() bytes (decoding never lengthens): the
// decoded length, or std::string_view::npos on a malformed escape.
size_t UriDecodeInto(std::string_view s, char* out, bool plus_is_space = false);
// True when UriEncode(*UriDecode(s), encode_slash) == s: s is already in canonical
// form (unreserved bytes as they are, every other byte as %XX in upper-case hex), so
// SigV4's canonicalisation can use it without decoding and re-encoding.
bool IsUriCanonical(std::string_view s, bool encode_slash);

// The raw (still encoded) value of the first query parameter `name` in a raw query string;
// *found tells whether it is present (a parameter without '=' has an empty value).
std::string_view FindQueryParam(std::string_view raw_query, std::string_view name, bool* found);

std::string Base64Encode(std::string_view data);
std::optional<std::string> Base64Decode(std::string_view b64);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
std::string ToLower(std::string_view s);
std::string_view Trim(std::string_view s);
// The pieces of `s` between each `sep`: n separators give n + 1 pieces ("" gives {""}).
std::vector<std::string_view> Split(std::string_view s, char sep);

// Strict unsigned decimal parse of the whole string; nullopt on anything else or overflow.
std::optional<uint64_t> ParseUint(std::string_view s);

// Whether s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Times are microseconds since the Unix epoch, UTC.
std::string FormatHttpDate(int64_t micros);  // "Wed, 12 Oct 2009 17:50:30 GMT"
std::string FormatIso8601(int64_t micros);   // "2009-10-12T17:50:30.000Z"
// The same into `out`, without an allocation (listing pages format thousands).
std::string_view FormatIso8601(int64_t micros, char (&out)[32]);
std::string FormatAmzDate(int64_t micros);                 // "20091012T175030Z"
std::optional<int64_t> ParseHttpDate(std::string_view s);  // RFC 1123, RFC 850, asctime
std::optional<int64_t> ParseAmzDate(std::string_view s);   // "20091012T175030Z"
// "2009-10-12T17:50:30Z", with or without fractional seconds (whole seconds kept).
std::optional<int64_t> ParseIso8601(std::string_view s);

}  // namespace sluice
