// A list of IP networks (CIDR blocks or single addresses, IPv4 and IPv6), and whether an
// address falls in one of them. An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged
// as IPv4. Used for the networks the server may connect to (server/address_policy.h) and the
// proxies whose X-Forwarded-For it believes (http::ServerOptions::trusted_proxy).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

class Networks {
 public:
  // `list`: comma-separated networks ("10.0.0.0/8, 2001:db8::/32, 192.0.2.7"); empty: none.
  // kInvalidArgument names the entry that does not parse.
  static Result<Networks> Parse(std::string_view list);

  bool empty() const { return nets_.empty(); }
  // The first network that holds `address`, as it was written; nullptr when none does or
  // `address` is not an IP address.
  const std::string* Find(std::string_view address) const;
  bool Contains(std::string_view address) const { return Find(address) != nullptr; }
  // The list as given, comma-separated.
  std::string Describe() const;

 private:
  struct Net {
    bool v6 = false;
    unsigned char bytes[16] = {};
    int prefix = 0;
    std::string text;
  };
  static Result<Net> ParseNet(std::string_view s);
  std::vector<Net> nets_;
};

// Whether `s` is an IPv4 or IPv6 address in its usual text form.
bool IsIpAddress(std::string_view s);

}  // namespace sluice
