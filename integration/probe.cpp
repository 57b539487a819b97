// confine-probe's entry point: the subcommand table and the shared helpers (probe.h has the
// exit code contract).
#include "probe.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace probe {

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? std::string(name) : "E" + std::to_string(err);
}

void print(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

int denied(int err, std::string_view what) {
  print(errno_name(err) + "\n");
  std::fprintf(stderr, "probe: %.*s: %s\n", static_cast<int>(what.size()), what.data(), std::strerror(err));
  return kDenied;
}

int unexpected(int err, std::string_view what) {
  std::fprintf(stderr, "probe: unexpected: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               err != 0 ? std::strerror(err) : "failed");
  return kUnexpected;
}

bool parse_u64(std::string_view text, unsigned long long& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

namespace {

void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--tag TAG] SUBCOMMAND [ARG...]\nsubcommands:\n", argv0);
  for (auto table : {filesystem_commands(), process_commands(), syscall_commands(), network_commands(),
                     memory_commands(), stress_commands(), hardening_commands(), landlock_commands(),
                     wrapper_commands()}) {
    for (const Command& c : table) {
      std::fprintf(stderr, "  %.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                   static_cast<int>(c.usage.size()), c.usage.data());
    }
  }
}

const Command* find(std::string_view name) {
  for (auto table : {filesystem_commands(), process_commands(), syscall_commands(), network_commands(),
                     memory_commands(), stress_commands(), hardening_commands(), landlock_commands(),
                     wrapper_commands()}) {
    for (const Command& c : table) {
      if (c.name == name) return &c;
    }
  }
  return nullptr;
}

}  // namespace
}  // namespace probe

int main(int argc, char** argv) {
  std::span<char* const> args(argv, static_cast<size_t>(argc));
  args = args.subspan(1);
  if (args.size() >= 2 && std::strcmp(args[0], "--tag") == 0) args = args.subspan(2);
  if (args.empty()) {
    probe::usage(argv[0]);
    return probe::kUsage;
  }
  const probe::Command* command = probe::find(args[0]);
  if (command == nullptr) {
    std::fprintf(stderr, "probe: unknown subcommand '%s'\n", args[0]);
    probe::usage(argv[0]);
    return probe::kUsage;
  }
  const probe::Args rest = args.subspan(1);
  if (rest.size() < command->min_args || rest.size() > command->max_args) {
    std::fprintf(stderr, "usage: %s %s %.*s\n", argv[0], args[0], static_cast<int>(command->usage.size()),
                 command->usage.data());
    return probe::kUsage;
  }
  const int code = command->run(rest);
  std::fflush(stdout);
  return code;
}
