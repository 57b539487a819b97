#include "output_area.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "confine/safe_path.h"

namespace confine::launch {
namespace {

constexpr int kMaxDepth = 16;

// A name the host directory may hold: UTF-8, no control characters, not "." or "..". Anything
// else (a newline or an escape sequence in a file name is how a job would confuse the tools that
// list the directory later) is refused.
bool acceptable_name(const char* name) {
  const std::string_view n(name);
  if (n.empty() || n == "." || n == ".." || n.size() > 255) return false;
  for (size_t i = 0; i < n.size();) {
    const auto c = static_cast<unsigned char>(n[i]);
    if (c < 0x20 || c == 0x7f) return false;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > n.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(n[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

const char* kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "device";
  return "not a regular file";
}

// Copies `size` bytes from `in` to `out`.
bool copy_bytes(int in, int out, uint64_t size) {
  off_t offset = 0;
  while (static_cast<uint64_t>(offset) < size) {
    const ssize_t n = ::sendfile(out, in, &offset, static_cast<size_t>(size - static_cast<uint64_t>(offset)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
  }
  return true;
}

class Copier {
 public:
  Copier(const plan::OutputArea& area, report::OutputAreaReport& out) : area_(area), out_(out) {}

  void directory(int from, int to, const std::string& prefix, int depth) {
    const int list_fd = ::openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (list_fd < 0) return refuse(prefix.empty() ? "." : prefix, std::string("error: ") + std::strerror(errno));
    DIR* dir = ::fdopendir(list_fd);
    if (dir == nullptr) {
      ::close(list_fd);
      return;
    }
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      entry_(from, to, name, prefix.empty() ? name : prefix + "/" + name, depth);
    }
    ::closedir(dir);
  }

 private:
  void entry_(int from, int to, const std::string& name, const std::string& path, int depth) {
    if (!acceptable_name(name.c_str())) return refuse(printable(path), "name");
    struct stat st {};
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return refuse(path, std::string("error: ") + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
      if (depth >= kMaxDepth) return refuse(path, "too deep");
      UniqueFd in(::openat(from, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (::mkdirat(to, name.c_str(), 0755) != 0) return refuse(path, std::string("error: ") + std::strerror(errno));
      UniqueFd out(::openat(to, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!in || !out) return refuse(path, std::string("error: ") + std::strerror(errno));
      if (::fchmodat(to, name.c_str(), 0755, 0) != 0) return refuse(path, std::string("error: ") + std::strerror(errno));
      directory(in.get(), out.get(), path, depth + 1);
      return;
    }
    if (!S_ISREG(st.st_mode)) return refuse(path, kind_of(st.st_mode));
    const auto size = static_cast<uint64_t>(st.st_size);
    if (out_.files_copied >= area_.files) return refuse(path, "over the file limit");
    if (out_.bytes_copied + size > area_.size_bytes) return refuse(path, "over the size limit");
    UniqueFd in(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    // O_EXCL | O_NOFOLLOW: a new file, in a directory confine made itself; 0644 whatever the
    // job's mode was (no set-id bits, no execute bits: results are data).
    UniqueFd out(::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!in || !out) return refuse(path, std::string("error: ") + std::strerror(errno));
    if (!copy_bytes(in.get(), out.get(), size)) return refuse(path, std::string("error: ") + std::strerror(errno));
    if (::fchmod(out.get(), 0644) != 0) return refuse(path, std::string("error: ") + std::strerror(errno));
    ++out_.files_copied;
    out_.bytes_copied += size;
    if (out_.copied.size() < report::OutputAreaReport::kMaxListed) {
      out_.copied.push_back({path, size});
    } else {
      ++out_.unlisted;
    }
  }

  void refuse(const std::string& path, std::string reason) {
    if (out_.refused.size() < report::OutputAreaReport::kMaxListed) {
      out_.refused.push_back({path, std::move(reason)});
    } else {
      ++out_.unlisted;
    }
  }

  // The name as the report shows it: control bytes as \xNN (the report is JSON; a refused
  // name must still be readable and cannot break a terminal that prints it).
  static std::string printable(const std::string& name) {
    std::string out;
    for (char c : name) {
      const auto b = static_cast<unsigned char>(c);
      if (b < 0x20 || b == 0x7f) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\x";
        out += kHex[b >> 4];
        out += kHex[b & 0xF];
      } else {
        out += c;
      }
    }
    return out;
  }

  const plan::OutputArea& area_;
  report::OutputAreaReport& out_;
};

}  // namespace

Expected<OutputArea> OutputArea::prepare(const plan::OutputArea& area) {
  OutputArea out;
  out.area_ = area;
  const std::filesystem::path host(area.host);
  auto parent = safe_path::open_directory(host.parent_path().string());
  if (!parent) return unexpected(std::move(parent.error()).add_context("the output area's host directory " + area.host));
  const std::string name = host.filename().string();
  if (::mkdirat(parent->get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
    return fail_errno(errno, "create the output area's host directory " + area.host);
  }
  UniqueFd dir(::openat(parent->get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return fail_errno(errno, "open the output area's host directory " + area.host, "it must be a directory, not a symlink");
  struct stat st {};
  if (::fstat(dir.get(), &st) != 0) return fail_errno(errno, "stat " + area.host);
  if (st.st_uid != ::geteuid()) {
    return fail(ErrorCode::kInvalidArgument,
                "the output area's host directory " + area.host + " belongs to uid " + std::to_string(st.st_uid),
                "give a directory that does not exist yet: confine creates it");
  }
  // Empty: the files in it afterwards are exactly what the job left in its area.
  DIR* listing = ::fdopendir(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (listing != nullptr) {
    bool empty = true;
    while (const dirent* entry = ::readdir(listing)) {
      if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) empty = false;
    }
    ::closedir(listing);
    if (!empty) {
      return fail(ErrorCode::kInvalidArgument, "the output area's host directory " + area.host + " is not empty",
                  "give a new directory for each job");
    }
  }
  if (::fchmod(dir.get(), 0755) != 0) return fail_errno(errno, "chmod " + area.host);
  out.host_dir_ = std::move(dir);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return fail_errno(errno, "socketpair for the output area");
  out.parent_.reset(pair[0]);
  out.child_.reset(pair[1]);
  return out;
}

report::OutputAreaReport OutputArea::copy_out() {
  report::OutputAreaReport out;
  out.path = area_.path;
  out.host = area_.host;
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  const ssize_t n = ::recvmsg(parent_.get(), &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  UniqueFd area;
  if (n > 0) {
    for (cmsghdr* h = CMSG_FIRSTHDR(&message); h != nullptr; h = CMSG_NXTHDR(&message, h)) {
      if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(h), sizeof fd);
        area.reset(fd);
      }
    }
  }
  if (!area) {
    out.refused.push_back({".", "the sandbox ended before it handed over its output area"});
    return out;
  }
  // The mount fd still refers to the area though the sandbox's namespace is gone; nothing runs
  // in it any more, so what is read here cannot change underneath.
  Copier(area_, out).directory(area.get(), host_dir_.get(), "", 0);
  return out;
}

}  // namespace confine::launch
