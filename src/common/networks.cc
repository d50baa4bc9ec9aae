#include "common/networks.h"

#include <boost/asio/ip/address.hpp>
#include <cstring>

#include "common/strings.h"

namespace sluice {

namespace ip = boost::asio::ip;

namespace {

// The address's bytes (4 for IPv4, 16 for IPv6); false when `s` is not an address.
bool AddressBytes(std::string_view s, bool* v6, unsigned char bytes[16]) {
  boost::system::error_code ec;
  ip::address a = ip::make_address(std::string(s), ec);
  if (ec) return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  *v6 = a.is_v6();
  if (*v6) {
    auto b = a.to_v6().to_bytes();
    std::memcpy(bytes, b.data(), 16);
  } else {
    auto b = a.to_v4().to_bytes();
    std::memcpy(bytes, b.data(), 4);
  }
  return true;
}

}  // namespace

bool IsIpAddress(std::string_view s) {
  bool v6;
  unsigned char bytes[16];
  return AddressBytes(s, &v6, bytes);
}

Result<Networks::Net> Networks::ParseNet(std::string_view s) {
  Net n;
  n.text = std::string(s);
  std::string_view addr = s;
  int prefix = -1;
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    auto p = ParseUint(s.substr(slash + 1));
    if (!p || *p > 128) return Status(Err::kInvalidArgument, "not a network: '" + n.text + "'");
    prefix = static_cast<int>(*p);
    addr = s.substr(0, slash);
  }
  if (!AddressBytes(addr, &n.v6, n.bytes))
    return Status(Err::kInvalidArgument, "not an address or network: '" + n.text + "'");
  n.prefix = prefix < 0 ? (n.v6 ? 128 : 32) : prefix;
  if (!n.v6 && n.prefix > 32)
    return Status(Err::kInvalidArgument, "not a network: '" + n.text + "'");
  return n;
}

Result<Networks> Networks::Parse(std::string_view list) {
  Networks out;
  for (std::string_view rest = list; !rest.empty();) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    SLUICE_ASSIGN_OR_RETURN(Net n, ParseNet(item));
    out.nets_.push_back(std::move(n));
  }
  return out;
}

const std::string* Networks::Find(std::string_view address) const {
  if (nets_.empty()) return nullptr;
  bool v6;
  unsigned char bytes[16] = {};
  if (!AddressBytes(address, &v6, bytes)) return nullptr;
  for (const Net& n : nets_) {
    if (n.v6 != v6) continue;
    int full = n.prefix / 8, rest = n.prefix % 8;
    if (std::memcmp(n.bytes, bytes, static_cast<size_t>(full)) != 0) continue;
    if (rest != 0) {
      auto mask = static_cast<unsigned char>(0xff << (8 - rest));
      if ((n.bytes[full] & mask) != (bytes[full] & mask)) continue;
    }
    return &n.text;
  }
  return nullptr;
}

std::string Networks::Describe() const {
  std::string out;
  for (const Net& n : nets_) out += (out.empty() ? "" : ",") + n.text;
  return out;
}

}  // namespace sluice
