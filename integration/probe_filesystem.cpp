// Filesystem probes: reading, writing, listing, links and the classic ways out of a new root.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "probe.h"

namespace probe {
namespace {

// Reads a whole file; returns 0 or the errno.
int slurp(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return err;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return 0;
}

int cmd_read(Args a) {
  std::string text;
  if (const int err = slurp(a[0], text); err != 0) return denied(err, std::string("read ") + a[0]);
  print(text);
  return kOk;
}

int cmd_write(Args a) {
  const std::string text = a.size() > 1 ? std::string(a[1]) + "\n" : "written by confine-probe\n";
  const int fd = ::open(a[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return denied(errno, std::string("open for writing ") + a[0]);
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    const int err = errno;
    ::close(fd);
    return denied(err, std::string("write ") + a[0]);
  }
  if (::close(fd) < 0) return denied(errno, std::string("close ") + a[0]);
  print("ok\n");
  return kOk;
}

int list_dir(const char* path, std::vector<std::string>& names) {
  DIR* dir = ::opendir(path);
  if (dir == nullptr) return errno;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int err = errno;
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return err;
}

int cmd_ls(Args a) {
  std::vector<std::string> names;
  if (const int err = list_dir(a[0], names); err != 0) return denied(err, std::string("list ") + a[0]);
  for (const auto& name : names) print(name + "\n");
  return kOk;
}

int cmd_stat(Args a) {
  struct stat st {};
  if (::lstat(a[0], &st) < 0) return denied(errno, std::string("lstat ") + a[0]);
  const char* type = S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : S_ISLNK(st.st_mode) ? "symlink" : "other";
  char line[256];
  std::snprintf(line, sizeof line, "type=%s mode=%o uid=%u gid=%u size=%lld\n", type, st.st_mode & 07777U, st.st_uid,
                st.st_gid, static_cast<long long>(st.st_size));
  print(line);
  return kOk;
}

int cmd_cwd(Args) {
  char buf[4096];
  if (::getcwd(buf, sizeof buf) == nullptr) return denied(errno, "getcwd");
  print(std::string(buf) + "\n");
  return kOk;
}

int cmd_hardlink(Args a) {
  if (::link(a[0], a[1]) < 0) return denied(errno, std::string("link ") + a[0] + " -> " + a[1]);
  print("ok\n");
  return kOk;
}

// Tries several spellings of PATH that leave the root through /proc or "..": the sandbox's own
// root (pid 1's and ours), the working directory's parents, and plain "..". Succeeds (exit 0)
// if any of them reads the file; otherwise reports the first errno.
int cmd_read_proc_root(Args a) {
  const std::string path = a.size() > 0 ? a[0] : "/etc/passwd";
  const std::string up = "/../../../../../../../..";
  const std::array<std::string, 6> attempts{
      "/proc/1/root" + path,  "/proc/self/root" + path,           "/proc/self/cwd" + up + path,
      up + path,              "/proc/1/cwd" + up + path,          "/proc/self/root/.." + up + path,
  };
  int first_err = 0;
  for (const auto& attempt : attempts) {
    std::string text;
    const int err = slurp(attempt, text);
    if (err == 0) {
      print("read via " + attempt + "\n" + text);
      return kOk;
    }
    std::fprintf(stderr, "probe: %s: %s\n", attempt.c_str(), std::strerror(err));
    if (first_err == 0) first_err = err;
  }
  return denied(first_err, "every route to " + path);
}

// Creates symlinks in DIR pointing at TARGET (absolute, and relative with many ".."), reads
// through them, removes them. Exit 0 if any read succeeded.
int cmd_symlink_escape(Args a) {
  const std::string dir = a[0];
  const std::string target = a[1];
  const std::array<std::pair<std::string, std::string>, 3> links{{
      {dir + "/probe-escape-abs", target},
      {dir + "/probe-escape-rel", "../../../../../../../../.." + target},
      {dir + "/probe-escape-proc", "/proc/1/root" + target},
  }};
  int first_err = 0;
  bool escaped = false;
  for (const auto& [link, to] : links) {
    if (::symlink(to.c_str(), link.c_str()) < 0) return unexpected(errno, "symlink " + link);
    std::string text;
    const int err = slurp(link, text);
    ::unlink(link.c_str());
    if (err == 0) {
      print("read via " + link + " -> " + to + "\n" + text);
      escaped = true;
      continue;
    }
    std::fprintf(stderr, "probe: %s -> %s: %s\n", link.c_str(), to.c_str(), std::strerror(err));
    if (first_err == 0) first_err = err;
  }
  return escaped ? kOk : denied(first_err, "every symlink to " + target);
}

// mount(MS_REMOUNT|MS_BIND) without MS_RDONLY: asks to make a read-only bind writable.
int cmd_remount_rw(Args a) {
  if (::mount(nullptr, a[0], nullptr, MS_REMOUNT | MS_BIND, nullptr) < 0) {
    return denied(errno, std::string("remount read-write ") + a[0]);
  }
  print("ok\n");
  return kOk;
}

int cmd_umount(Args a) {
  if (::umount2(a[0], MNT_DETACH) < 0) return denied(errno, std::string("umount2 ") + a[0]);
  print("ok\n");
  return kOk;
}

// Writes MB mebibytes; RLIMIT_FSIZE turns the write past the limit into SIGXFSZ.
int cmd_write_big(Args a) {
  unsigned long long mib = 0;
  if (!parse_u64(a[1], mib)) return kUsage;
  const int fd = ::open(a[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return denied(errno, std::string("open ") + a[0]);
  const std::string chunk(1 << 20, 'x');
  for (unsigned long long i = 0; i < mib; ++i) {
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
      const int err = errno;
      ::close(fd);
      return denied(err, "write");
    }
  }
  ::close(fd);
  print("ok\n");
  return kOk;
}

// Changes a file's metadata by its path only, never opening it: chmod, or utimensat with a path
// (touch -c). What a mount namespace hides and Landlock has no right for.
int cmd_chmod(Args a) {
  unsigned long long mode = 0;
  if (std::sscanf(a[0], "%llo", &mode) != 1) return kUsage;
  if (::chmod(a[1], static_cast<mode_t>(mode)) != 0) return denied(errno, std::string("chmod ") + a[1]);
  print("ok\n");
  return kOk;
}

int cmd_touch_times(Args a) {
  if (::utimensat(AT_FDCWD, a[0], nullptr, 0) != 0) return denied(errno, std::string("utimensat ") + a[0]);
  print("ok\n");
  return kOk;
}

constexpr Command kCommands[] = {
    {"chmod", "OCTAL-MODE PATH", 2, 2, cmd_chmod},
    {"touch-times", "PATH", 1, 1, cmd_touch_times},
    {"read", "PATH", 1, 1, cmd_read},
    {"write", "PATH [TEXT]", 1, 2, cmd_write},
    {"ls", "PATH", 1, 1, cmd_ls},
    {"stat", "PATH", 1, 1, cmd_stat},
    {"cwd", "", 0, 0, cmd_cwd},
    {"hardlink", "TARGET LINK", 2, 2, cmd_hardlink},
    {"read-proc-root", "[PATH]", 0, 1, cmd_read_proc_root},
    {"symlink-escape", "DIR TARGET", 2, 2, cmd_symlink_escape},
    {"remount-rw", "PATH", 1, 1, cmd_remount_rw},
    {"umount", "PATH", 1, 1, cmd_umount},
    {"write-big", "PATH MB", 2, 2, cmd_write_big},
};

}  // namespace

std::span<const Command> filesystem_commands() { return kCommands; }

}  // namespace probe
