// How the server's two logs are laid out (spdlog formatters), with two custom flags:
//   %*  the local time as 2026-12-06T03:01:49.513, its text kept per second, so a line pays
//       for three digits of milliseconds and a copy, not for a dozen field formatters;
//   %&  the message with control characters (and DEL) written as \xNN, so a name or header
//       a client sent can never start a forged line or steer a terminal.
// docs/security.md "Logs".
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string_view>

namespace sluice::server {

// "TIME LEVEL MESSAGE", the level coloured where the sink colours.
std::unique_ptr<spdlog::formatter> ServerLogFormatter();
// "TIME access MESSAGE".
std::unique_ptr<spdlog::formatter> AccessLogFormatter();

// Appends s with bytes below 0x20 and 0x7f written as \xNN.
void AppendEscaped(std::string_view s, spdlog::memory_buf_t& out);

}  // namespace sluice::server
