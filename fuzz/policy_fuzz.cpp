// libFuzzer target: policy::load() and validation on arbitrary bytes, `extends` included.
//
// The input is one or two policy files. A line "#%base" splits it: the text before is
// <dir>/policy.toml (the file loaded), the text after is <dir>/base.toml, which the first can
// reach with `extends = ["base.toml"]` (or itself, for a cycle). The loader reads files only, so
// the files are written to a private directory on each run; no API was added for this.
//
// Every input must either load or be refused with diagnostics that keep docs/policy.md's
// promises; any broken promise abort()s, so libFuzzer reports it with the input:
//  - a result is a policy with no diagnostics, or diagnostics and no policy;
//  - a problem with a key ("limits.memory") has a position: line >= 1 and column >= 1;
//  - a problem without a key is a problem with the file itself (unreadable, too large, not
//    UTF-8, a NUL byte, TOML syntax); only unreadable and too-large files lack a position;
//  - a position in one of the two files lies inside that file (a line it has, a column at
//    most one past that line's last byte: columns count characters, which are never more);
//  - problems are sorted by file, then line, then column;
//  - a loaded policy renders (canonical text, a 64-digit hash, explain as text and JSON).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "confine/policy.h"

namespace {

constexpr std::string_view kSplit = "\n#%base\n";

[[noreturn]] void violated(const char* promise, const confine::policy::Diagnostic* d) {
  std::fprintf(stderr, "policy_fuzz: broken promise: %s\n", promise);
  if (d != nullptr) std::fprintf(stderr, "  diagnostic: %s\n", d->str().c_str());
  std::abort();
}

struct Workspace {
  std::string dir;
  std::string policy;
  std::string base;
};

const Workspace& workspace() {
  static const Workspace ws = [] {
    const char* shm = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(shm) + "/confine-policy-fuzz.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("policy_fuzz: mkdtemp");
      std::abort();
    }
    Workspace w{pattern, pattern + "/policy.toml", pattern + "/base.toml"};
    // Removed at exit, so long runs leave nothing behind.
    static std::string to_remove = pattern;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(to_remove, ignored);
    });
    return w;
  }();
  return ws;
}

void write_file(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror("policy_fuzz: open");
    std::abort();
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      std::perror("policy_fuzz: write");
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

// Bytes per line: a column, which counts characters, is never more than one past these.
std::vector<size_t> line_lengths(std::string_view text) {
  std::vector<size_t> lengths{0};
  for (char c : text) {
    if (c == '\n') {
      lengths.push_back(0);
    } else {
      ++lengths.back();
    }
  }
  return lengths;
}

bool starts_with_any(const std::string& message, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes) {
    if (message.rfind(p, 0) == 0) return true;
  }
  return false;
}

void check_position(const confine::policy::Diagnostic& d, const std::vector<size_t>& lengths) {
  if (d.origin.line == 0) return;  // checked by the caller
  if (d.origin.line > lengths.size()) violated("position past the file's last line", &d);
  // toml++ places "encountered end-of-file" one past the final newline (`a = [1\n` is 1:8), so
  // that message, and only that one, may point one column further.
  const bool at_eof = d.message.find("end-of-file") != std::string::npos;
  if (d.origin.column > lengths[d.origin.line - 1] + (at_eof ? 2 : 1)) {
    violated("position past the end of its line", &d);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Workspace& ws = workspace();
  const size_t split = input.find(kSplit);
  const std::string_view child = input.substr(0, split);
  const std::string_view base =
      split == std::string_view::npos ? std::string_view() : input.substr(split + kSplit.size());
  write_file(ws.policy, child);
  if (split == std::string_view::npos) {
    ::unlink(ws.base.c_str());  // extends = ["base.toml"] then names a missing file
  } else {
    write_file(ws.base, base);
  }
  const std::vector<size_t> child_lines = line_lengths(child);
  const std::vector<size_t> base_lines = line_lengths(base);

  {
    const confine::policy::LoadResult result = confine::policy::load(ws.policy);

    if (result.policy.has_value() == !result.diagnostics.empty()) {
      violated("a result is a policy or diagnostics, never both or neither", nullptr);
    }
    for (const auto& d : result.diagnostics) {
      if (d.origin.file.empty()) violated("every problem names a file", &d);
      if (d.message.empty()) violated("every problem has a message", &d);
      if (!d.key.empty()) {
        if (d.origin.line == 0 || d.origin.column == 0) violated("a problem with a key has file:line:col", &d);
      } else if (d.origin.line == 0) {
        if (d.origin.column != 0) violated("line 0 with a column", &d);
        if (!starts_with_any(d.message, {"cannot read policy", "file is ", "the file is empty", "the file changed"})) {
          violated("only unreadable, too-large, empty or changing files have no position", &d);
        }
      } else {
        if (d.origin.column == 0) violated("a line without a column", &d);
        if (!starts_with_any(d.message, {"invalid UTF-8", "NUL byte", "TOML syntax error"})) {
          violated("a problem without a key is a problem with the file itself", &d);
        }
      }
      if (d.origin.file == ws.policy) check_position(d, child_lines);
      if (d.origin.file == ws.base) check_position(d, base_lines);
    }
    for (size_t i = 1; i < result.diagnostics.size(); ++i) {
      const auto& a = result.diagnostics[i - 1].origin;
      const auto& b = result.diagnostics[i].origin;
      if (std::tie(a.file, a.line, a.column) > std::tie(b.file, b.line, b.column)) {
        violated("problems are sorted by file, line, column", &result.diagnostics[i]);
      }
    }
    if (result.policy) {
      const auto& policy = *result.policy;
      if (policy.files.empty() || policy.files.back() != ws.policy) {
        violated("the loaded file is applied last", nullptr);
      }
      const std::string hash = confine::policy::content_hash(policy);
      if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
        violated("content_hash is 64 lowercase hex digits", nullptr);
      }
      if (confine::policy::canonical_text(policy).empty()) violated("canonical text is not empty", nullptr);
      if (confine::policy::explain_text(policy).empty()) violated("explain text is not empty", nullptr);
      if (confine::policy::explain_json(policy).empty()) violated("explain JSON is not empty", nullptr);
    }
  }
  return 0;
}
