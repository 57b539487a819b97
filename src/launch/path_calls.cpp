// named_paths() and friends: see path_calls.h.
#include "path_calls.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>

#include "confine/fd.h"

namespace confine::launch {
namespace {

using learn::Access;

// Where a call's path arguments are. dirfd -1: relative to the cwd. flags >= 0: open's flags,
// which say whether it reads, writes or creates. fd_only: the call names a descriptor (getdents).
struct PathArg {
  int path = -1;
  int dirfd = -1;
  Access access = Access::kRead;
};
struct PathCall {
  long nr;
  PathArg first;
  PathArg second;  // rename, link, symlink: the second name; path -1 when none
  int open_flags = -1;
  bool fd_only = false;
};

constexpr int kNone = -1;

// x86_64's path calls (seccomp::path_syscalls() names the same set).
const PathCall kCalls[] = {
    {SYS_open, {0, kNone, Access::kRead}, {}, 1},
    {SYS_openat, {1, 0, Access::kRead}, {}, 2},
    {SYS_openat2, {1, 0, Access::kRead}, {}},
    {SYS_creat, {0, kNone, Access::kCreate}, {}},
    {SYS_execve, {0, kNone, Access::kExec}, {}},
    {SYS_execveat, {1, 0, Access::kExec}, {}},
    {SYS_stat, {0, kNone, Access::kProbe}, {}},
    {SYS_lstat, {0, kNone, Access::kProbe}, {}},
    {SYS_newfstatat, {1, 0, Access::kProbe}, {}},
    {SYS_statx, {1, 0, Access::kProbe}, {}},
    {SYS_access, {0, kNone, Access::kProbe}, {}},
    {SYS_faccessat, {1, 0, Access::kProbe}, {}},
    {SYS_faccessat2, {1, 0, Access::kProbe}, {}},
    {SYS_statfs, {0, kNone, Access::kProbe}, {}},
    {SYS_readlink, {0, kNone, Access::kRead}, {}},
    {SYS_readlinkat, {1, 0, Access::kRead}, {}},
    {SYS_getxattr, {0, kNone, Access::kProbe}, {}},
    {SYS_lgetxattr, {0, kNone, Access::kProbe}, {}},
    {SYS_listxattr, {0, kNone, Access::kProbe}, {}},
    {SYS_llistxattr, {0, kNone, Access::kProbe}, {}},
    {SYS_chdir, {0, kNone, Access::kRead}, {}},
    {SYS_mkdir, {0, kNone, Access::kCreate}, {}},
    {SYS_mkdirat, {1, 0, Access::kCreate}, {}},
    {SYS_mknod, {0, kNone, Access::kCreate}, {}},
    {SYS_mknodat, {1, 0, Access::kCreate}, {}},
    {SYS_unlink, {0, kNone, Access::kWrite}, {}},
    {SYS_unlinkat, {1, 0, Access::kWrite}, {}},
    {SYS_rmdir, {0, kNone, Access::kWrite}, {}},
    {SYS_truncate, {0, kNone, Access::kWrite}, {}},
    {SYS_chmod, {0, kNone, Access::kWrite}, {}},
    {SYS_fchmodat, {1, 0, Access::kWrite}, {}},
    {SYS_chown, {0, kNone, Access::kWrite}, {}},
    {SYS_lchown, {0, kNone, Access::kWrite}, {}},
    {SYS_fchownat, {1, 0, Access::kWrite}, {}},
    {SYS_utimensat, {1, 0, Access::kWrite}, {}},
    {SYS_utime, {0, kNone, Access::kWrite}, {}},
    {SYS_utimes, {0, kNone, Access::kWrite}, {}},
    {SYS_futimesat, {1, 0, Access::kWrite}, {}},
    {SYS_rename, {0, kNone, Access::kWrite}, {1, kNone, Access::kCreate}},
    {SYS_renameat, {1, 0, Access::kWrite}, {3, 2, Access::kCreate}},
    {SYS_renameat2, {1, 0, Access::kWrite}, {3, 2, Access::kCreate}},
    {SYS_link, {0, kNone, Access::kRead}, {1, kNone, Access::kCreate}},
    {SYS_linkat, {1, 0, Access::kRead}, {3, 2, Access::kCreate}},
    {SYS_symlink, {1, kNone, Access::kCreate}, {}},
    {SYS_symlinkat, {2, 1, Access::kCreate}, {}},
    {SYS_getdents64, {kNone, 0, Access::kList}, {}, -1, true},
    {SYS_getdents, {kNone, 0, Access::kList}, {}, -1, true},
};

const PathCall* find_call(int nr) {
  for (const PathCall& call : kCalls) {
    if (call.nr == nr) return &call;
  }
  return nullptr;
}

std::optional<std::string> read_link(const std::string& path) {
  std::array<char, PATH_MAX> buffer;
  const ssize_t n = ::readlink(path.c_str(), buffer.data(), buffer.size());
  if (n <= 0 || static_cast<size_t>(n) >= buffer.size()) return std::nullopt;
  return std::string(buffer.data(), static_cast<size_t>(n));
}

// A NUL-terminated string from the caller's memory, read a page at most at a time so a string
// that ends just before an unmapped page is still read (process_vm_readv fails a read that
// crosses into one).
std::optional<std::string> read_string(pid_t pid, uint64_t address) {
  if (address == 0) return std::nullopt;
  std::string out;
  constexpr uint64_t kPage = 4096;
  char chunk[kPage];
  while (out.size() < PATH_MAX) {
    const uint64_t want = kPage - (address % kPage);
    iovec local{chunk, want};
    iovec remote{reinterpret_cast<void*>(address), want};
    const ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return std::nullopt;
    const void* nul = std::memchr(chunk, '\0', static_cast<size_t>(n));
    if (nul != nullptr) {
      out.append(chunk, static_cast<size_t>(static_cast<const char*>(nul) - chunk));
      return out;
    }
    out.append(chunk, static_cast<size_t>(n));
    address += static_cast<uint64_t>(n);
  }
  return std::nullopt;  // longer than PATH_MAX: the kernel refuses it anyway
}

// "/a/./b/../c" -> "/a/c", lexically (a symlink in the middle may make it name another file:
// learning reports what was named).
std::string normalize(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::optional<std::string> base_dir(pid_t pid, uint64_t dirfd_arg, int dirfd_index) {
  const std::string proc = "/proc/" + std::to_string(pid);
  const int dirfd = static_cast<int>(static_cast<uint32_t>(dirfd_arg));
  if (dirfd_index < 0 || dirfd == AT_FDCWD) return read_link(proc + "/cwd");
  auto target = read_link(proc + "/fd/" + std::to_string(dirfd));
  if (!target || target->empty() || target->front() != '/') return std::nullopt;  // a pipe, a socket
  return target;
}

std::optional<std::string> resolve(pid_t pid, const PathArg& arg, const uint64_t (&args)[6], bool fd_only) {
  if (fd_only) return base_dir(pid, args[arg.dirfd], arg.dirfd);
  auto name = read_string(pid, args[arg.path]);
  if (!name) return std::nullopt;
  // AT_EMPTY_PATH: the call is about the descriptor itself.
  if (name->empty()) return arg.dirfd >= 0 ? base_dir(pid, args[arg.dirfd], arg.dirfd) : std::nullopt;
  if (name->front() == '/') return normalize(*name);
  auto base = base_dir(pid, arg.dirfd >= 0 ? args[arg.dirfd] : static_cast<uint64_t>(AT_FDCWD), arg.dirfd);
  if (!base) return std::nullopt;
  return normalize(*base + "/" + *name);
}

Access open_access(uint64_t flags_arg) {
  const auto flags = static_cast<int>(static_cast<uint32_t>(flags_arg));
  if ((flags & O_PATH) != 0) return Access::kProbe;
  if ((flags & O_CREAT) != 0 || (flags & __O_TMPFILE) == __O_TMPFILE) return Access::kCreate;
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0) return Access::kWrite;
  // A directory opened is not yet listed (it may be a dirfd for openat): getdents says kList.
  return Access::kRead;
}

}  // namespace

std::vector<NamedPath> named_paths(pid_t pid, int nr, const uint64_t (&args)[6]) {
  std::vector<NamedPath> out;
  const PathCall* call = find_call(nr);
  if (call == nullptr) return out;
  if (auto path = resolve(pid, call->first, args, call->fd_only)) {
    Access access = call->open_flags >= 0 ? open_access(args[call->open_flags]) : call->first.access;
    out.push_back({std::move(*path), access});
  }
  if (call->second.path >= 0) {
    if (auto path = resolve(pid, call->second, args, false)) out.push_back({std::move(*path), call->second.access});
  }
  return out;
}

bool exists_in_root(pid_t pid, const std::string& path) {
  // The caller's root as a directory descriptor; the path resolved with it as "/" (absolute
  // symlinks inside stay inside), the last component not followed.
  UniqueFd root(::open(("/proc/" + std::to_string(pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return true;  // cannot tell: say it is there, so nothing is reported missing wrongly
  open_how how{};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const std::string relative = path == "/" ? "." : path.substr(1);
  const long fd = ::syscall(SYS_openat2, root.get(), relative.c_str(), &how, sizeof how);
  if (fd >= 0) {
    ::close(static_cast<int>(fd));
    return true;
  }
  return errno != ENOENT && errno != ENOTDIR;
}

bool exists_on_host(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

HostChain host_chain(const std::string& path) {
  HostChain chain;
  std::string done = "";     // resolved so far, no symlinks in it
  std::string rest = path;   // still to walk
  for (int hops = 0; hops < 40 && !rest.empty();) {
    while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
    if (rest.empty()) break;
    const size_t slash = rest.find('/');
    const std::string part = rest.substr(0, slash);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
    const std::string next = normalize(done + "/" + part);
    struct stat st {};
    if (::lstat(next.c_str(), &st) != 0) {
      done = next + rest;  // missing on the host: the rest as named
      rest.clear();
      break;
    }
    if (!S_ISLNK(st.st_mode)) {
      done = next;
      continue;
    }
    ++hops;
    chain.links.push_back(next);
    auto target = read_link(next);
    if (!target) break;
    rest = *target + rest;
    if (target->front() != '/') rest = (done.empty() ? "" : done) + "/" + rest;
    done.clear();
  }
  chain.real = normalize(done.empty() ? "/" : done);
  struct stat st {};
  chain.directory = ::stat(chain.real.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  return chain;
}

std::optional<std::string> executable_of(pid_t pid) { return read_link("/proc/" + std::to_string(pid) + "/exe"); }

std::vector<std::string> mapped_files(pid_t pid) {
  std::vector<std::string> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    // "start-end perms offset dev inode   /path": the path is what follows the fifth field.
    const size_t slash = line.find(" /");
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash + 1);
    if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) continue;
    if (out.empty() || out.back() != path) out.push_back(std::move(path));
  }
  return out;
}

}  // namespace confine::launch

namespace confine::launch {

std::optional<std::string> elf_interpreter(pid_t pid) {
  UniqueFd exe(::open(("/proc/" + std::to_string(pid) + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
  if (!exe) return std::nullopt;
  Elf64_Ehdr header{};
  if (::pread(exe.get(), &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return std::nullopt;
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum > 256) {
    return std::nullopt;
  }
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr ph{};
    const auto at = static_cast<off_t>(header.e_phoff + i * sizeof ph);
    if (::pread(exe.get(), &ph, sizeof ph, at) != static_cast<ssize_t>(sizeof ph)) return std::nullopt;
    if (ph.p_type != PT_INTERP) continue;
    if (ph.p_filesz == 0 || ph.p_filesz > PATH_MAX) return std::nullopt;
    std::string path(ph.p_filesz, '\0');
    if (::pread(exe.get(), path.data(), path.size(), static_cast<off_t>(ph.p_offset)) != static_cast<ssize_t>(path.size())) {
      return std::nullopt;
    }
    path.resize(std::strlen(path.c_str()));
    if (path.empty() || path.front() != '/') return std::nullopt;
    return path;
  }
  return std::nullopt;
}

}  // namespace confine::launch

namespace confine::launch {

std::optional<uint64_t> open_descriptors(pid_t pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return std::nullopt;
  uint64_t n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

}  // namespace confine::launch
