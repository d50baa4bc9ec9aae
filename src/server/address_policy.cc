#include "server/address_policy.h"

#include <boost/asio/ip/address.hpp>
#include <cstring>

#include "common/strings.h"

namespace sluice::server {

namespace ip = boost::asio::ip;

Result<AddressPolicy::Net> AddressPolicy::ParseNet(std::string_view s) {
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
  boost::system::error_code ec;
  ip::address a = ip::make_address(std::string(addr), ec);
  if (ec) return Status(Err::kInvalidArgument, "not an address or network: '" + n.text + "'");
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::memcpy(n.bytes, b.data(), 4);
    n.prefix = prefix < 0 ? 32 : prefix;
    if (n.prefix > 32) return Status(Err::kInvalidArgument, "not a network: '" + n.text + "'");
  } else {
    auto b = a.to_v6().to_bytes();
    std::memcpy(n.bytes, b.data(), 16);
    n.v6 = true;
    n.prefix = prefix < 0 ? 128 : prefix;
  }
  return n;
}

bool AddressPolicy::Contains(const Net& n, bool v6, const unsigned char* bytes) {
  if (n.v6 != v6) return false;
  int full = n.prefix / 8, rest = n.prefix % 8;
  if (std::memcmp(n.bytes, bytes, static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (n.bytes[full] & mask) == (bytes[full] & mask);
}

Result<AddressPolicy> AddressPolicy::Parse(std::string_view allow) {
  AddressPolicy p;
  for (const char* d : {"169.254.0.0/16", "fe80::/10", "fd00:ec2::254"}) {
    auto n = ParseNet(d);
    p.deny_.push_back(*n);
  }
  for (std::string_view rest = allow; !rest.empty();) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    SLUICE_ASSIGN_OR_RETURN(Net n, ParseNet(item));
    p.allow_.push_back(std::move(n));
  }
  return p;
}

std::string AddressPolicy::Refuses(const std::string& address) const {
  boost::system::error_code ec;
  ip::address a = ip::make_address(address, ec);
  if (ec) return "not an IP address";
  // An IPv4 address written as IPv6 (::ffff:169.254.169.254) is judged as IPv4.
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  unsigned char bytes[16] = {};
  bool v6 = a.is_v6();
  if (v6) {
    auto b = a.to_v6().to_bytes();
    std::memcpy(bytes, b.data(), 16);
  } else {
    auto b = a.to_v4().to_bytes();
    std::memcpy(bytes, b.data(), 4);
  }
  if (!allow_.empty()) {
    for (const Net& n : allow_)
      if (Contains(n, v6, bytes)) return "";
    return "not in the networks --replication-allow names";
  }
  for (const Net& n : deny_)
    if (Contains(n, v6, bytes))
      return "a link-local address (" + n.text +
             ": cloud metadata lives there); --replication-allow can name it";
  return "";
}

std::string AddressPolicy::Describe() const {
  if (allow_.empty()) return "any address but link-local";
  std::string out;
  for (const Net& n : allow_) out += (out.empty() ? "" : ",") + n.text;
  return out;
}

}  // namespace sluice::server
