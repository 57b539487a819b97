#include "confine/safe_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

namespace confine::safe_path {
namespace {

constexpr int kMaxLinks = 40;  // as the kernel's MAXSYMLINKS

// What a component check wants to know about each step of the walk.
struct Visitor {
  virtual ~Visitor() = default;
  // `st` is the directory (or final file) reached; `from` the one it was reached from.
  virtual Expected<void> step(const std::string& where, const struct stat& st, const struct stat& from) = 0;
};

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

// Walks `path` to its last component, which it opens with `final_flags` (relative to the parent
// directory it reached; the caller decides whether that may follow a link). Every directory on
// the way is visited; symlinks are followed only when root owns them.
Expected<UniqueFd> walk(const std::string& path, Visitor* visitor, bool open_last, std::string* last_name,
                        UniqueFd* parent_out) {
  if (path.empty()) return fail(ErrorCode::kInvalidArgument, "empty path");
  std::vector<std::string> todo;  // components still to walk, last one first
  auto push = [&todo](const std::string& p) {
    const auto parts = split(p);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
  };
  std::string where = path.front() == '/' ? "/" : ".";
  UniqueFd current(::open(path.front() == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!current) return fail_errno(errno, "open " + where);
  push(path);
  struct stat current_st {};
  if (::fstat(current.get(), &current_st) != 0) return fail_errno(errno, "stat " + where);
  if (visitor != nullptr) {
    if (auto ok = visitor->step(where, current_st, current_st); !ok) return unexpected(ok.error());
  }
  int links = 0;
  while (!todo.empty()) {
    const std::string part = todo.back();
    todo.pop_back();
    if (part == ".") continue;
    const bool last = todo.empty();
    if (last && !open_last) {
      if (last_name != nullptr) *last_name = part;
      if (parent_out != nullptr) *parent_out = std::move(current);
      return UniqueFd();
    }
    const std::string next_where = where == "/" ? "/" + part : where + "/" + part;
    struct stat st {};
    if (::fstatat(current.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno(errno, next_where);
    if (S_ISLNK(st.st_mode)) {
      // A link is followed only when root owns it: nobody else can have planted it.
      if (st.st_uid != 0) {
        return fail(ErrorCode::kInvalidArgument,
                    next_where + " is a symlink owned by uid " + std::to_string(st.st_uid) +
                        "; confine follows only root's symlinks here",
                    "give the real path");
      }
      if (++links > kMaxLinks) return fail_errno(ELOOP, next_where);
      char text[4096];
      const ssize_t n = ::readlinkat(current.get(), part.c_str(), text, sizeof text - 1);
      if (n < 0) return fail_errno(errno, "readlink " + next_where);
      const std::string target(text, static_cast<size_t>(n));
      if (!target.empty() && target.front() == '/') {
        current.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        where = "/";
      }
      push(target);
      if (todo.empty()) todo.push_back(".");
      continue;
    }
    if (part == "..") {
      UniqueFd up(::openat(current.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!up) return fail_errno(errno, next_where);
      current = std::move(up);
      where = next_where;
      continue;
    }
    UniqueFd next(::openat(current.get(), part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY)));
    if (!next) return fail_errno(errno, next_where);
    struct stat next_st {};
    if (::fstat(next.get(), &next_st) != 0) return fail_errno(errno, "stat " + next_where);
    if (visitor != nullptr) {
      if (auto ok = visitor->step(next_where, next_st, current_st); !ok) return unexpected(ok.error());
    }
    current = std::move(next);
    current_st = next_st;
    where = next_where;
  }
  return current;
}

}  // namespace

Expected<UniqueFd> open_directory(const std::string& path) {
  auto fd = walk(path, nullptr, true, nullptr, nullptr);
  if (!fd) return fd;
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return fail_errno(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return fail_errno(ENOTDIR, path);
  return fd;
}

Expected<UniqueFd> open_for_writing(const std::string& path, mode_t mode) {
  std::string name;
  UniqueFd dir;
  if (auto walked = walk(path, nullptr, false, &name, &dir); !walked) return unexpected(walked.error());
  if (name.empty() || name == "." || name == "..") return fail(ErrorCode::kInvalidArgument, path + " names no file");
  // O_NONBLOCK: a FIFO nobody reads fails with ENXIO instead of hanging confine before the run.
  UniqueFd fd(::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode));
  if (!fd) {
    const int err = errno;
    if (err == ELOOP) return fail(ErrorCode::kInvalidArgument, path + " is a symlink; give the real path");
    if (err == ENXIO) {
      return fail(ErrorCode::kInvalidArgument, path + " is a FIFO with no reader",
                  "start the reader first, or use --report-fd");
    }
    return fail_errno(err, "open " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(errno, "stat " + path);
  if (S_ISREG(st.st_mode)) {
    // A second name for the file means someone linked it there: truncating it would clobber a
    // file confine never meant to write (protected_hardlinks may be off).
    if (st.st_nlink > 1) {
      return fail(ErrorCode::kInvalidArgument,
                  path + " has " + std::to_string(st.st_nlink) + " hard links; refusing to overwrite it",
                  "remove it or choose another path");
    }
    if (::ftruncate(fd.get(), 0) != 0) return fail_errno(errno, "truncate " + path);
  } else if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    // Character devices only exist where root made them (/dev/null, /dev/full); a socket or a
    // block device is never a place for a report.
    return fail(ErrorCode::kInvalidArgument, path + " is not a regular file, a FIFO or a character device");
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) (void)::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

Expected<void> check_trusted(const std::string& path, uid_t owner) {
  struct Trust final : Visitor {
    explicit Trust(uid_t o) : owner(o) {}
    Expected<void> step(const std::string& where, const struct stat& st, const struct stat& from) override {
      (void)from;
      // Owned by root or the caller: in a sticky directory others may write (/tmp), only the
      // owner can rename or remove it, so it stays what it is.
      const bool owned = st.st_uid == 0 || st.st_uid == owner;
      if (!owned) {
        return fail(ErrorCode::kInvalidArgument,
                    where + " is owned by uid " + std::to_string(st.st_uid) + ", not by root" +
                        (owner != 0 ? " or uid " + std::to_string(owner) : std::string()),
                    "a policy confine runs as root with must be writable only by root");
      }
      const bool writable_by_others = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
      const bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0;
      if (writable_by_others && !sticky_dir) {
        return fail(ErrorCode::kInvalidArgument,
                    where + " is writable by others (mode " + mode_text(st.st_mode) + ")",
                    "a policy confine runs as root with must be writable only by root: chmod go-w " + where);
      }
      return {};
    }
    uid_t owner;
  } trust(owner);
  auto walked = walk(path, &trust, true, nullptr, nullptr);
  if (!walked) return unexpected(walked.error());
  return {};
}

}  // namespace confine::safe_path
