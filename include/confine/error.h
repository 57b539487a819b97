// Errors in the parent: what was attempted, on what, why it failed, and the fix when known.
//
// An Error keeps the errno of the failing syscall and a context chain that grows as the error
// bubbles up ("make plan" <- "bind /data" <- "open_tree"). Functions either log or return an
// error, never both; only main prints for the user.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace confine {

enum class ErrorCode {
  kInvalidArgument,  // the caller asked for something malformed (CLI, policy value)
  kPolicy,           // the policy has one or more located problems
  kUnsupported,      // the host cannot enforce something the policy requires
  kSystem,           // a syscall failed; sys_errno says why
  kNotFound,         // a named file does not exist
  kCommandNotFound,  // the command to run is not in the sandbox (exec_error, exit 127)
  kInternal,         // a bug in confine
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  int sys_errno = 0;                 // 0 when no syscall was involved
  std::string message;               // the innermost description
  std::vector<std::string> context;  // outermost last: "while X", appended as it bubbles up
  std::string hint;                  // how to fix it, when knowable; empty otherwise

  // Adds the next outer layer of context and returns *this, for chaining in return statements.
  Error& add_context(std::string what) & {
    context.push_back(std::move(what));
    return *this;
  }
  Error&& add_context(std::string what) && {
    context.push_back(std::move(what));
    return std::move(*this);
  }

  // "outer: inner: message: strerror" plus "\n  hint: ..." when there is one.
  [[nodiscard]] std::string render() const;
};

// One-line alias so the codebase can move to std::expected once the toolchain has it.
template <class T>
using Expected = tl::expected<T, Error>;
using tl::unexpected;

[[nodiscard]] inline unexpected<Error> fail(ErrorCode code, std::string message,
                                            std::string hint = {}) {
  return unexpected<Error>(Error{code, 0, std::move(message), {}, std::move(hint)});
}

// An error for a failed syscall: captures errno at the call site (pass it explicitly so no
// intervening call can clobber it).
[[nodiscard]] inline unexpected<Error> fail_errno(int err, std::string what,
                                                  std::string hint = {}) {
  return unexpected<Error>(Error{ErrorCode::kSystem, err, std::move(what), {}, std::move(hint)});
}

}  // namespace confine
