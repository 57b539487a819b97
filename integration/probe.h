// confine-probe: a small program that runs inside the sandbox and tries one thing.
//
// Exit code contract (the driver asserts on it, so it is the probe's API):
//   0  the operation succeeded (what it printed is on stdout);
//   1  it failed the way a sandbox should make it fail: the first stdout line is the errno name
//      ("ENOENT"), details go to stderr;
//   2  usage error (unknown subcommand, bad arguments);
//   3  anything unexpected (the probe could not even set up the attempt).
// A probe killed by a signal (seccomp's SIGSYS, SIGXFSZ) exits through the signal, not a code.
//
// Usage: confine-probe [--tag TAG] SUBCOMMAND [ARG...]. The tag is ignored: it only marks the
// process's argv so the driver can find the sandbox's processes in /proc/*/cmdline.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace probe {

enum Code : int { kOk = 0, kDenied = 1, kUsage = 2, kUnexpected = 3 };

using Args = std::span<char* const>;

struct Command {
  std::string_view name;
  std::string_view usage;  // the arguments, for the help text
  size_t min_args;
  size_t max_args;
  int (*run)(Args args);
};

// Prints the errno name on stdout (the contract's first line) and `what` with strerror on
// stderr; returns kDenied.
int denied(int err, std::string_view what);
// For failures that are not the sandbox's doing: message on stderr, returns kUnexpected.
int unexpected(int err, std::string_view what);
// "ENOENT" for 2, "E<number>" when libc has no name.
std::string errno_name(int err);
// Parses a non-negative decimal; false on anything else.
bool parse_u64(std::string_view text, unsigned long long& out);
// Writes all of `text` to stdout.
void print(std::string_view text);

// The subcommand tables, one per file.
std::span<const Command> filesystem_commands();
std::span<const Command> process_commands();
std::span<const Command> syscall_commands();
std::span<const Command> network_commands();
std::span<const Command> memory_commands();
std::span<const Command> stress_commands();
std::span<const Command> hardening_commands();
std::span<const Command> landlock_commands();
std::span<const Command> wrapper_commands();

}  // namespace probe
