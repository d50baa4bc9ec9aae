#include "common/names.h"

#include "common/strings.h"

namespace sluice {

Status ValidateBucketName(std::string_view n) {
  auto bad = [&](std::string_view why) {
    return Error(Err::kInvalidBucketName, "The specified bucket is not valid: " + std::string(why));
  };
  if (n.size() < 3 || n.size() > 63) return bad("names are 3 to 63 characters long");
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
      return bad("only lowercase letters, digits, dots and hyphens are allowed");
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(n.front()) || !alnum(n.back()))
    return bad("names begin and end with a letter or digit");
  if (n.find("..") != std::string_view::npos) return bad("no two adjacent dots");
  if (n.starts_with("xn--") || n.starts_with("sthree-")) return bad("reserved prefix");
  if (n.ends_with("-s3alias") || n.ends_with("--ol-s3")) return bad("reserved suffix");
  int dots = 0;
  bool digits_only = true;
  for (char c : n) {
    if (c == '.')
      dots++;
    else if (c < '0' || c > '9')
      digits_only = false;
  }
  if (dots == 3 && digits_only) return bad("names must not look like an IP address");
  return Status::Ok();
}

Result<BucketName> ParseBucketName(std::string_view name) {
  SLUICE_RETURN_IF_ERROR(ValidateBucketName(name));
  return BucketName::Trusted(std::string(name));
}

Status ValidateObjectKey(std::string_view key) {
  if (key.size() > 1024) return Error(Err::kKeyTooLong, "Your key is too long (over 1024 bytes)");
  if (key.find('\0') != std::string_view::npos || !IsValidUtf8(key))
    return Error(Err::kInvalidObjectKey, "Object key is not valid UTF-8 or contains NUL");
  return Status::Ok();
}

Result<ObjectKey> ParseObjectKey(std::string_view key) {
  SLUICE_RETURN_IF_ERROR(ValidateObjectKey(key));
  return ObjectKey::Trusted(std::string(key));
}

Result<UploadId> ParseUploadId(std::string_view id) {
  bool ok = id.size() == 32;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) ok = false;
  if (!ok)
    return Error(Err::kNoSuchUpload,
                 "The specified upload does not exist. The upload ID may be invalid, or the "
                 "upload may have been aborted or completed.");
  return UploadId::Trusted(std::string(id));
}

Result<VersionId> VersionId::Parse(std::string_view s) {
  if (s == "null") return Null();
  auto bad = [] { return Error(Err::kInvalidArgument, "Invalid version id specified"); };
  if (s.size() != 32) return bad();
  uint64_t v[2] = {0, 0};
  for (size_t i = 0; i < 32; i++) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return bad();
    v[i / 16] = (v[i / 16] << 4) | static_cast<uint64_t>(d);
  }
  VersionId id = Of(v[0], v[1]);
  if (id.empty()) return bad();
  return id;
}

std::string VersionId::ToString() const {
  if (null_) return "null";
  if (empty()) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 15; i >= 0; i--) {
    out[i] = kHex[(micros_ >> (4 * (15 - i))) & 15];
    out[16 + i] = kHex[(rand_ >> (4 * (15 - i))) & 15];
  }
  return out;
}

}  // namespace sluice
