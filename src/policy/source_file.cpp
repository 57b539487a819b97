// One policy file from bytes to a TOML table (see source_file.h).
//
// The byte checks come before toml++ sees the text: toml++ does reject bad UTF-8, but we want
// the exact position of the first bad byte and a message that says what it is, and a policy
// that is too large is refused before it is read, so a mistaken path (a log, a disk image)
// cannot make confine read gigabytes.
#include "source_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "confine/fd.h"
#include "values.h"

namespace confine::policy::detail {
namespace {

// Finds the first NUL and the first byte that is not UTF-8, reporting each with its line and
// column (columns count characters, as toml++ does, so positions agree across messages).
bool check_bytes(std::string_view text, const std::string& path, std::vector<Diagnostic>& diagnostics) {
  uint32_t line = 1;
  uint32_t column = 1;
  bool nul_seen = false;
  bool bad_utf8_seen = false;
  for (size_t i = 0; i < text.size() && !(nul_seen && bad_utf8_seen);) {
    const size_t length = utf8_char_length(text, i);
    if (length == 0) {
      if (!bad_utf8_seen) {
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[i])));
        diagnostics.push_back(Diagnostic{Origin{path, line, column}, "",
                                         std::string("invalid UTF-8 (byte ") + byte +
                                             "); policy files must be UTF-8 text"});
        bad_utf8_seen = true;
      }
      ++i;
      ++column;
      continue;
    }
    if (text[i] == '\0' && !nul_seen) {
      diagnostics.push_back(
          Diagnostic{Origin{path, line, column}, "", "NUL byte; a policy file must be text"});
      nul_seen = true;
    }
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
  return !nul_seen && !bad_utf8_seen;
}

// TOML 1.0 allows characters beyond ASCII only inside strings and comments; everywhere else
// they are a syntax error. They are reported here, before toml++ sees them: toml++ 3.3 reaches
// an unreachable branch (undefined behaviour, found by fuzz/policy_fuzz.cpp) when it classifies
// some of them, e.g. U+045C, as possible whitespace. Returns false after reporting the first.
bool check_ascii_outside_strings(std::string_view text, const std::string& path, std::vector<Diagnostic>& diagnostics) {
  enum class State { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  State state = State::kCode;
  uint32_t line = 1;
  uint32_t column = 1;
  auto at = [&text](size_t i, std::string_view s) { return text.substr(i, s.size()) == s; };
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    size_t advance = std::max<size_t>(utf8_char_length(text, i), 1);
    switch (state) {
      case State::kCode:
        if (static_cast<unsigned char>(c) >= 0x80) {
          diagnostics.push_back(Diagnostic{Origin{path, line, column}, "",
                                           "TOML syntax error: a character beyond ASCII outside a string or "
                                           "comment (keys that need one must be quoted)"});
          return false;
        }
        if (c == '#') state = State::kComment;
        if (at(i, "\"\"\"")) {
          state = State::kMultiBasic;
          advance = 3;
        } else if (at(i, "'''")) {
          state = State::kMultiLiteral;
          advance = 3;
        } else if (c == '"') {
          state = State::kBasic;
        } else if (c == '\'') {
          state = State::kLiteral;
        }
        break;
      case State::kComment:
        if (c == '\n') state = State::kCode;
        break;
      case State::kBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') advance = 1 + std::max<size_t>(utf8_char_length(text, i + 1), 1);
        else if (c == '"' || c == '\n') state = State::kCode;  // a newline: toml++ reports it
        break;
      case State::kLiteral:
        if (c == '\'' || c == '\n') state = State::kCode;
        break;
      case State::kMultiBasic:
      case State::kMultiLiteral: {
        const char quote = state == State::kMultiBasic ? '"' : '\'';
        if (state == State::kMultiBasic && c == '\\' && i + 1 < text.size()) {
          advance = 1 + std::max<size_t>(utf8_char_length(text, i + 1), 1);
        } else if (c == quote && at(i, std::string(3, quote))) {
          // Up to two more quotes may end the content right before the closing delimiter.
          advance = 3;
          while (advance < 5 && i + advance < text.size() && text[i + advance] == quote) ++advance;
          state = State::kCode;
        }
        break;
      }
    }
    for (size_t k = 0; k < advance && i < text.size(); ) {
      const size_t len = std::max<size_t>(utf8_char_length(text, i), 1);
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
      i += len;
      k += len;
    }
  }
  return true;
}

// Plain ASCII without a NUL, as nearly every policy is: then neither check above can find
// anything (each reports only a NUL or a byte from 0x80 up), and both are skipped. They walk
// the text a character at a time, which was a tenth of a launch's policy load.
bool plain_ascii(std::string_view text) {
  unsigned char seen = 0;
  for (const char c : text) seen |= static_cast<unsigned char>(c);
  return (seen & 0x80U) == 0 && text.find('\0') == std::string_view::npos;
}

}  // namespace

ReadResult read_source(const std::string& path, uint64_t max_bytes, std::vector<Diagnostic>& diagnostics) {
  ReadResult result;
  // O_NONBLOCK for the open only: opening a FIFO for reading otherwise blocks until some
  // process opens it for writing, so a policy (or an `extends` entry) naming a FIFO nobody
  // writes to would hang `confine run` and `confine check` before they could say anything.
  const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (raw < 0) {
    result.open_errno = errno;
    return result;
  }
  UniqueFd fd(raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    result.open_errno = errno;
    return result;
  }
  if (S_ISDIR(st.st_mode)) {
    result.open_errno = EISDIR;
    return result;
  }
  const Origin whole_file{path, 0, 0};
  // A file, or a pipe (`-p <(generate-policy)`). Not a device: /dev/zero never ends, a
  // terminal waits for typing, and neither is where a security policy comes from.
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    diagnostics.push_back(Diagnostic{whole_file, "", "not a regular file or a pipe (a device?); refusing to read a policy from it"});
    return result;
  }
  // Reads block again: a pipe's writer may still be producing the policy. A FIFO without one
  // reads as end-of-file at once, and comes out empty below.
  if (const int flags = ::fcntl(fd.get(), F_GETFL); flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) {
    result.open_errno = errno;
    return result;
  }
  result.source.identity = {st.st_dev, st.st_ino};
  const std::string cap = std::to_string(max_bytes) + "-byte limit";
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
    diagnostics.push_back(Diagnostic{whole_file, "",
                                     "file is " + std::to_string(st.st_size) + " bytes, over the " + cap +
                                         " for a policy; refusing to read it"});
    return result;
  }
  // Read at most one byte past the cap, so a pipe or a growing file is caught too.
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      result.open_errno = errno;
      return result;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > max_bytes) {
      diagnostics.push_back(Diagnostic{whole_file, "", "file is larger than the " + cap + " for a policy"});
      return result;
    }
  }
  // A policy rewritten in place while we read it (truncate, then write) reads as nothing or as a
  // prefix, and both may be valid TOML: a different, usually weaker policy (no seccomp rules,
  // no limits) than either the old or the new file. The file's size and times, before and
  // after the read, tell; so does a zero-byte file, which is what a rewrite looks like between
  // its truncate and its write (a policy that means "nothing" still says `version = 1`). Not
  // ctime: a rename over the file (the right way to replace it) changes the old inode's.
  if (S_ISREG(st.st_mode)) {
    struct stat after {};
    const bool changed = ::fstat(fd.get(), &after) != 0 || after.st_size != st.st_size ||
                         after.st_mtim.tv_sec != st.st_mtim.tv_sec || after.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
                         text.size() != static_cast<size_t>(st.st_size);
    if (changed) {
      diagnostics.push_back(Diagnostic{whole_file, "",
                                       "the file changed while it was being read; replace a policy atomically "
                                       "(write a new file, then rename it over the old one)"});
      return result;
    }
    if (text.empty()) {
      diagnostics.push_back(Diagnostic{whole_file, "",
                                       "the file is empty (being rewritten?); a policy says at least `version = 1`"});
      return result;
    }
  } else if (text.empty()) {
    diagnostics.push_back(Diagnostic{whole_file, "",
                                     "the pipe gave nothing (no writer?); a policy says at least `version = 1`"});
    return result;
  }
  if (!plain_ascii(text)) {
    if (!check_bytes(text, path, diagnostics)) return result;
    if (!check_ascii_outside_strings(text, path, diagnostics)) return result;
  }
  try {
    result.source.table = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    diagnostics.push_back(Diagnostic{Origin{path, begin.line, begin.column}, "",
                                     "TOML syntax error: " + std::string(e.description())});
  }
  return result;
}

}  // namespace confine::policy::detail
