// One raw HTTP/1.1 exchange with a server on loopback, for the in-process tests that drive
// the real handler (golden exchanges, the failing disk): the request is sent as given, the
// answer read to its Content-Length on a fresh connection.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include "common/strings.h"

namespace sluice::testutil {

struct Response {
  int status = 0;  // 0: no answer (the connection failed or closed early)
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

// Sends `request` to 127.0.0.1:`port` and reads the answer; `head` for a HEAD request,
// whose Content-Length has no body behind it.
inline Response Exchange(uint16_t port, const std::string& request, bool head) {
  Response r;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return r;
  }
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string buf;
  char tmp[65536];
  size_t head_end = std::string::npos;
  while (head_end == std::string::npos) {
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) break;
    buf.append(tmp, n);
    head_end = buf.find("\r\n\r\n");
  }
  if (head_end == std::string::npos) {
    close(fd);
    return r;
  }
  std::istringstream hs(buf.substr(0, head_end));
  std::string line;
  std::getline(hs, line);
  r.status = std::stoi(line.substr(9, 3));
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon != std::string::npos)
      r.headers[ToLower(line.substr(0, colon))] = std::string(Trim(line.substr(colon + 1)));
  }
  size_t len =
      head ? 0 : std::stoull(r.headers.count("content-length") ? r.headers["content-length"] : "0");
  r.body = buf.substr(head_end + 4);
  while (r.body.size() < len) {
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) break;
    r.body.append(tmp, n);
  }
  close(fd);
  return r;
}

}  // namespace sluice::testutil
