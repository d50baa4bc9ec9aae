// Which network addresses the server may connect to for endpoints its users chose
// (replication targets): a defence against server-side request forgery (docs/security.md).
// By default every address but the link-local ones, where clouds serve instance metadata
// and credentials (169.254.0.0/16 with 169.254.169.254, fe80::/10, fd00:ec2::254). With an
// allow-list (--replication-allow), only the networks it names.
#pragma once

#include <string>
#include <string_view>

#include "common/networks.h"
#include "common/status.h"

namespace sluice::server {

class AddressPolicy {
 public:
  // `allow`: comma-separated networks in CIDR form or single addresses, IPv4 or IPv6
  // ("10.0.0.0/8,2001:db8::/32,192.0.2.7"); empty for the default. kInvalidArgument names
  // the entry that does not parse.
  static Result<AddressPolicy> Parse(std::string_view allow);

  // Empty when `address` may be connected to, else why not.
  std::string Refuses(const std::string& address) const;
  // The policy, for the server's start line.
  std::string Describe() const;

 private:
  Networks allow_;  // empty: all but deny_
  Networks deny_;
};

}  // namespace sluice::server
