// explain_exec_failure(): why the kernel refused to execute the target, named for a person.
//
// execve reports ENOENT both for a program that is missing and for one whose ELF interpreter
// (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2) is missing, and EACCES both for a file without
// execute permission and for a script whose #! interpreter is masked. The errno alone sends
// people looking at the wrong file. So after a failed exec the parent reads the program's first
// bytes on the host (the sandbox's binds show the host's files at the same paths), finds the
// interpreter it names, and checks it against the plan's mounts exactly as exec path resolution
// does (resolve_inside): missing, masked by a deny rule, or present.
//
// Untrusted input: the file may be the job's own. Only a bounded prefix is read, every offset
// is checked against it, and nothing is ever executed or followed outside the plan's view.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "confine/plan.h"
#include "paths.h"
#include "steps.h"

namespace confine::plan {
namespace {

constexpr size_t kHeadBytes = 8192;  // ELF headers and PT_INTERP's text sit in the first page
constexpr int kMaxInterpreterDepth = 4;  // the kernel allows a #! chain of about 5

uint64_t little_endian(const std::string& bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= uint64_t{static_cast<unsigned char>(bytes[offset + i])} << (8 * i);
  return value;
}

// The PT_INTERP path of a little-endian ELF file (32- or 64-bit), when its text lies in `head`.
std::optional<std::string> elf_interpreter(const std::string& head) {
  if (head.size() < 52 || head.compare(0, 4, "\x7f" "ELF") != 0) return std::nullopt;
  const bool is64 = head[4] == 2;
  if ((head[4] != 1 && !is64) || head[5] != 1) return std::nullopt;  // little-endian only
  const uint64_t phoff = little_endian(head, is64 ? 32 : 28, is64 ? 8 : 4);
  const uint64_t phentsize = little_endian(head, is64 ? 54 : 42, 2);
  const uint64_t phnum = little_endian(head, is64 ? 56 : 44, 2);
  if (phentsize < (is64 ? 56U : 32U) || phnum > 256) return std::nullopt;
  for (uint64_t i = 0; i < phnum; ++i) {
    const uint64_t ph = phoff + i * phentsize;
    if (ph > head.size() || head.size() - ph < phentsize) return std::nullopt;
    constexpr uint32_t kPtInterp = 3;
    if (little_endian(head, ph, 4) != kPtInterp) continue;
    const uint64_t offset = little_endian(head, ph + (is64 ? 8 : 4), is64 ? 8 : 4);
    const uint64_t size = little_endian(head, ph + (is64 ? 32 : 16), is64 ? 8 : 4);
    if (size < 2 || size > 4096 || offset > head.size() || head.size() - offset < size) return std::nullopt;
    std::string path = head.substr(offset, size);
    path.resize(std::strlen(path.c_str()));  // NUL-terminated within p_filesz
    if (path.empty() || path.front() != '/') return std::nullopt;
    return path;
  }
  return std::nullopt;
}

// The interpreter a "#!" line names (its first word), when the file starts with one.
std::optional<std::string> shebang_interpreter(const std::string& head) {
  if (head.compare(0, 2, "#!") != 0) return std::nullopt;
  const size_t end = head.find('\n');
  std::string line = head.substr(2, end == std::string::npos ? std::string::npos : end - 2);
  const size_t start = line.find_first_not_of(" \t");
  if (start == std::string::npos) return std::nullopt;
  line = line.substr(start);
  line = line.substr(0, line.find_first_of(" \t\r"));
  if (line.empty()) return std::nullopt;
  return line;
}

// What the sandbox shows at `path`, one of three answers, with the reason for a person.
struct Seen {
  enum Kind { kThere, kMissing, kMasked } kind = kMissing;
  std::string inside;  // the path after the sandbox's symlinks (kThere)
  std::string why;     // "not in the sandbox", "masked by the deny rule at FILE:L:C"
};

Seen look(const Plan& plan, const HostFacts& host, const std::string& path) {
  const MountOp* mask = nullptr;
  const auto resolved = steps::resolve_inside(plan.mounts, host, path, &mask);
  if (!resolved) {
    if (mask != nullptr) return {Seen::kMasked, {}, "masked by the deny rule at " + mask->origin};
    return {Seen::kMissing, {}, "not reachable in the sandbox (its symlinks loop)"};
  }
  if (const MountOp* masked = steps::masking_mount(plan.mounts, *resolved)) {
    return {Seen::kMasked, *resolved, "masked by the deny rule at " + masked->origin};
  }
  const MountOp* cover = steps::covering_mount(plan.mounts, *resolved);
  const bool on_host = host.file_kind && host.file_kind(*resolved) != FileKind::kMissing;
  if (cover == nullptr || cover->kind != MountKind::kBind) {
    return {Seen::kMissing, *resolved,
            on_host ? "not in the sandbox (it exists on the host; no ro or rw rule shows it)" : "not in the sandbox"};
  }
  if (!on_host) return {Seen::kMissing, *resolved, "not in the sandbox"};
  return {Seen::kThere, *resolved, {}};
}

// The first interpreter on the chain from the program at `inside` that the sandbox does not
// show, as the end of a sentence ("its interpreter X is not in the sandbox", "its interpreter X
// (from its #! line) needs Y, which is masked by ..."); nullopt when every one is there.
std::optional<std::string> missing_interpreter(const Plan& plan, const HostFacts& host, const ReadHead& read_head,
                                               const std::string& inside) {
  std::string chain;  // "its interpreter X (from its #! line) needs " for each link that is there
  std::string program = inside;
  for (int depth = 0; depth < kMaxInterpreterDepth && read_head; ++depth) {
    const auto head = read_head(program, kHeadBytes);
    if (!head) return std::nullopt;
    std::string interpreter;
    std::string from;
    if (auto elf = elf_interpreter(*head)) {
      interpreter = *elf;
    } else if (auto script = shebang_interpreter(*head)) {
      interpreter = *script;
      from = " (from its #! line)";
    } else {
      return std::nullopt;
    }
    const Seen seen = look(plan, host, interpreter);
    if (seen.kind != Seen::kThere) {
      return chain.empty() ? "its interpreter " + interpreter + from + " is " + seen.why
                           : chain + interpreter + ", which is " + seen.why;
    }
    chain += (chain.empty() ? "its interpreter " : "") + interpreter + from + " needs ";
    program = seen.inside;
  }
  return std::nullopt;
}

}  // namespace

std::string explain_exec_failure(const Plan& plan, const HostFacts& host, int sys_errno, const ReadHead& read_head) {
  const std::string& path = plan.exec_path;
  const Seen seen = look(plan, host, path);
  if (seen.kind == Seen::kMasked) return path + ": " + seen.why;
  if (seen.kind == Seen::kMissing) {
    // The program itself: "not found", as a shell would say, and where it is if the host has it.
    const std::string why = seen.why.rfind("not in the sandbox", 0) == 0 ? "not found in the sandbox" + seen.why.substr(18)
                                                                          : seen.why;
    return path + ": " + why;
  }
  if (sys_errno == ENOENT || sys_errno == EACCES || sys_errno == ENOEXEC) {
    if (auto interpreter = missing_interpreter(plan, host, read_head, seen.inside)) return path + ": " + *interpreter;
  }
  switch (sys_errno) {
    case ENOENT: return path + ": not found in the sandbox";
    case EACCES:
      return path + ": permission denied (not executable by the sandbox's uid " + std::to_string(plan.uid) + ")";
    case ENOEXEC: return path + ": not a format the kernel can execute (a script needs a #! line)";
    case ETXTBSY: return path + ": busy: open for writing while it was executed";
    default: return path + ": " + std::strerror(sys_errno);
  }
}

}  // namespace confine::plan
