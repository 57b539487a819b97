// Filesystem probes for the planner. They report what a path *is* without following a final
// symlink, because the planner decides itself what a symlink may mean (recreated, or an error).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <vector>

#include "confine/host.h"

namespace confine::host {

plan::FileKind file_kind(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return plan::FileKind::kMissing;
  if (S_ISDIR(st.st_mode)) return plan::FileKind::kDirectory;
  if (S_ISREG(st.st_mode)) return plan::FileKind::kRegular;
  if (S_ISLNK(st.st_mode)) return plan::FileKind::kSymlink;
  if (S_ISCHR(st.st_mode)) return plan::FileKind::kCharDevice;
  return plan::FileKind::kOther;  // sockets, fifos, block devices
}

std::optional<std::string> read_link(const std::string& path) {
  // st_size of a symlink is its length, but procfs links report 0: grow until the text fits.
  std::vector<char> buf(256);
  while (buf.size() <= (size_t{1} << 16)) {
    const ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
    buf.resize(buf.size() * 2);
  }
  return std::nullopt;
}

std::optional<std::string> read_head(const std::string& path, size_t count) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    std::string head(count, '\0');
    size_t done = 0;
    while (done < count) {
      const ssize_t n = ::read(fd, head.data() + done, count - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    head.resize(done);
    out = std::move(head);
  }
  ::close(fd);
  return out;
}

bool executable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return false;
  return S_ISREG(st.st_mode) && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
}

}  // namespace confine::host
