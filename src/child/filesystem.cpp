// The sandbox's filesystem, built in the child with the new mount API.
//
// Two phases, because permissions change between them:
//  1. open_sources, while the child still has the caller's host credentials: every bind source
//     is resolved without following any symlink (openat2 RESOLVE_NO_SYMLINKS) and cloned into a
//     detached mount tree (open_tree OPEN_TREE_CLONE|AT_RECURSIVE), with its attributes
//     (read-only, nosuid, nodev) applied to every submount at once (mount_setattr AT_RECURSIVE).
//     Holding trees as fds means nothing done later, by anyone, can redirect a bind.
//  2. build_root, after the ids are switched: an empty tmpfs becomes the new root, each step's
//     mountpoint is created without following symlinks, the trees are moved in by fd, masks go
//     on top, the root tmpfs is made read-only, and pivot_root detaches the host's tree.
// Along the way each mount's Landlock rule is added on the fd that made it (landlock.cpp).
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "filesystem.h"
#include "landlock.h"
#include "report.h"
#include "sys.h"

namespace confine::child {
namespace {

constexpr unsigned kPathMax = 4096;

// Attributes every bind gets: nosuid (a setuid binary inside gains nothing, CVE-class: setuid
// helpers reachable from a sandbox) and nodev (a device node inside a bound tree cannot be
// opened). Read-only binds add MOUNT_ATTR_RDONLY, applied recursively so submounts of /usr
// (say, a separate /usr/local) are read-only too: a plain MS_BIND|MS_RDONLY remount would only
// cover the top mount.
int set_tree_attrs(int tree_fd, uint64_t attrs) noexcept {
  mount_attr attr{};
  attr.attr_set = attrs;
  attr.propagation = MS_PRIVATE;  // nothing mounted inside may propagate back to the host
  return sys::mount_setattr(tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr);
}

// Clones `path` into a detached tree without following any symlink on the way.
int clone_tree(const char* path, unsigned recursive) noexcept {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  // RESOLVE_NO_SYMLINKS: the plan already refused paths that go through symlinks; this makes
  // a symlink swapped in since then (the job directory replaced mid-run) fail instead of
  // redirecting the bind somewhere the policy never named.
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = sys::openat2(AT_FDCWD, path, &how);
  if (fd < 0) return -1;
  int tree = sys::open_tree(fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | recursive);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return tree;
}

// Copies `src` into `dst` (size kPathMax), returning false if it does not fit.
bool copy_path(char* dst, const char* src) noexcept {
  size_t n = sys::length(src);
  if (n >= kPathMax) return false;
  std::memcpy(dst, src, n + 1);
  return true;
}

// Walks `rel` (no leading "/") from `root_fd`, creating missing directories, never following a
// symlink (O_NOFOLLOW on each component; a symlink component yields ENOTDIR/ELOOP). Returns an
// fd of the final component, created as a directory or an empty file when missing: O_PATH, or
// for a file it just created, the O_WRONLY descriptor that created it (a mountpoint all the
// same: attach() moves onto the fd's own path). Every syscall here runs once per component of
// every mount, so the walk starts from `root_fd` itself rather than a duplicate of it, and a
// missing file is created in one call instead of a failed open, a create and a reopen.
int make_mountpoint(int root_fd, const char* rel, bool is_dir, bool create) noexcept {
  if (!create) {
    // Nothing to create (a mask over a path inside a bind or the sandbox's /proc): one openat2
    // for the whole path instead of an open and a close per component. RESOLVE_NO_SYMLINKS
    // refuses a symlink in any component, as O_NOFOLLOW on each one did, and the final one too
    // (the plan already refused masks through symlinks); RESOLVE_BENEATH keeps ".." inside.
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return sys::openat2(root_fd, rel, &how);
  }
  char buf[kPathMax];
  if (!copy_path(buf, rel)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int dir = root_fd;  // borrowed until the first component is open: never closed here
  char* component = buf;
  while (true) {
    char* slash = sys::find_first(component, '/');
    const bool last = slash == nullptr;
    if (!last) *slash = '\0';
    int next = -1;
    if (last && !is_dir) {
      // O_EXCL never follows a symlink: an existing name, symlink or not, is EEXIST and then
      // opened without following, as if it had been opened first.
      next = create ? ::openat(dir, component, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444) : -1;
      if (!create || (next < 0 && errno == EEXIST)) next = ::openat(dir, component, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    } else {
      next = ::openat(dir, component, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
      if (next < 0 && errno == ENOENT && create) {
        if (::mkdirat(dir, component, 0755) == 0 || errno == EEXIST) {
          next = ::openat(dir, component, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        }
      }
    }
    if (dir != root_fd) {
      int saved = errno;
      ::close(dir);
      errno = saved;
    }
    if (next < 0) return -1;
    if (last) return next;
    dir = next;
    component = slash + 1;
  }
}

// Splits `rel` into its parent's fd (created as needed) and the final name (into `name`). A name
// directly in the root gets `root_fd` itself back, borrowed (the caller must not close it):
// reopening "." cost an open and a close for each of the root's symlinks (bin, lib, sbin...).
int open_parent(int root_fd, const char* rel, char* name) noexcept {
  char buf[kPathMax];
  if (!copy_path(buf, rel)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  char* slash = sys::find_last(buf, '/');
  if (slash == nullptr) {
    std::memcpy(name, buf, sys::length(buf) + 1);
    return root_fd;
  }
  *slash = '\0';
  std::memcpy(name, slash + 1, sys::length(slash + 1) + 1);
  return make_mountpoint(root_fd, buf, /*is_dir=*/true, /*create=*/true);
}

// A fresh tmpfs as a detached mount (fsopen/fsconfig/fsmount), options validated by the kernel
// before anything is attached.
int new_tmpfs(const char* size, const char* mode, const char* inodes, unsigned attrs) noexcept {
  int fs = sys::fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0) return -1;
  int mnt = -1;
  if ((size == nullptr || sys::fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) == 0) &&
      (mode == nullptr || sys::fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) == 0) &&
      (inodes == nullptr || sys::fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", inodes, 0) == 0) &&
      sys::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) {
    mnt = sys::fsmount(fs, FSMOUNT_CLOEXEC, attrs);
  }
  int saved = errno;
  ::close(fs);
  errno = saved;
  return mnt;
}

// Moves a detached tree onto an O_PATH mountpoint fd: no path is resolved at all.
int attach(int tree_fd, int mountpoint_fd) noexcept {
  return sys::move_mount(tree_fd, "", mountpoint_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

}  // namespace

void open_sources(const Image& image, Trees& trees) noexcept {
  // The Landlock ruleset exists before the first tree is cloned, so each bind's rule goes on the
  // tree itself (landlock.cpp says why).
  trees.landlock = landlock_create(image);
  for (size_t i = 0; i < image.mount_count; ++i) {
    const MountStep& step = image.mounts[i];
    trees.fds[i] = -1;
    if (step.kind == MountKind::kBind) {
      int tree = clone_tree(step.source, AT_RECURSIVE);
      if (tree < 0) die(image.error_fd, Step::kOpenTree, static_cast<int>(i), errno);
      uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (step.read_only ? MOUNT_ATTR_RDONLY : 0);
      CONFINE_CHECK(set_tree_attrs(tree, attrs), image.error_fd, Step::kMountAttr, static_cast<int>(i));
      // Its Landlock rule goes on the cloned tree itself: the inode the bind will show, whatever
      // happens to the host path from now on. Without it the job could open nothing there.
      landlock_allow(image, trees.landlock, tree, step.landlock_access, static_cast<int>(i));
      trees.fds[i] = tree;
    } else if (step.kind == MountKind::kMaskFile) {
      // /dev/null mounted with nodev: the masked file still exists (so programs that stat it
      // behave), but any open fails with EACCES instead of yielding its contents.
      int tree = clone_tree("/dev/null", 0);
      if (tree < 0) die(image.error_fd, Step::kOpenTree, static_cast<int>(i), errno);
      CONFINE_CHECK(set_tree_attrs(tree, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC),
                    image.error_fd, Step::kMountAttr, static_cast<int>(i));
      trees.fds[i] = tree;
    } else if (step.kind == MountKind::kDev) {
      for (size_t d = 0; d < kDevNodeCount; ++d) {
        char path[32] = "/dev/";
        const size_t node_len = sys::length(kDevNodes[d]);
        if (node_len < sizeof(path) - 5) std::memcpy(path + 5, kDevNodes[d], node_len + 1);
        int tree = clone_tree(path, 0);
        if (tree < 0) die(image.error_fd, Step::kDevNode, static_cast<int>(d), errno);
        // No nodev here (these are the devices), but nosuid and noexec.
        CONFINE_CHECK(set_tree_attrs(tree, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC), image.error_fd,
                      Step::kDevNode, static_cast<int>(d));
        // A rule on the device inode itself, not only on the /dev tmpfs above it: the target
        // also reaches these nodes through the host's paths, when it reopens an inherited
        // /dev/null through /proc/self/fd (a service often gives the job that as stdin).
        landlock_allow(image, trees.landlock, tree, image.landlock.dev_node_access, static_cast<int>(i));
        trees.dev_fds[d] = tree;
      }
    }
  }
}

namespace {

// Builds /dev on a tmpfs attached at `mountpoint`: the five device nodes, the fd links, and
// then read-only so nothing new can be created there.
void build_dev(const Image& image, int index, int mountpoint, const MountStep& step, Trees& trees) noexcept {
  const int err = image.error_fd;
  int dev = new_tmpfs(step.size, step.mode, step.inodes, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  CONFINE_CHECK(dev, err, Step::kDev, index);
  landlock_allow(image, trees.landlock, dev, step.landlock_access, index);  // listing /dev, the devices' rights
  CONFINE_CHECK(attach(dev, mountpoint), err, Step::kDev, index);
  for (size_t d = 0; d < kDevNodeCount; ++d) {
    int node = make_mountpoint(dev, kDevNodes[d], /*is_dir=*/false, /*create=*/true);
    CONFINE_CHECK(node, err, Step::kDevNode, static_cast<int>(d));
    CONFINE_CHECK(attach(trees.dev_fds[d], node), err, Step::kDevNode, static_cast<int>(d));
    ::close(node);
    ::close(trees.dev_fds[d]);
    trees.dev_fds[d] = -1;
  }
  // The conventional links; they resolve against the sandbox's own /proc.
  CONFINE_CHECK(::symlinkat("/proc/self/fd", dev, "fd"), err, Step::kDev, index);
  CONFINE_CHECK(::symlinkat("/proc/self/fd/0", dev, "stdin"), err, Step::kDev, index);
  CONFINE_CHECK(::symlinkat("/proc/self/fd/1", dev, "stdout"), err, Step::kDev, index);
  CONFINE_CHECK(::symlinkat("/proc/self/fd/2", dev, "stderr"), err, Step::kDev, index);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  CONFINE_CHECK(sys::mount_setattr(dev, "", AT_EMPTY_PATH, &attr), err, Step::kDev, index);
  ::close(dev);
}

}  // namespace

void build_root(const Image& image, Trees& trees) noexcept {
  const int err = image.error_fd;

  // The new root: an empty tmpfs, so the sandbox contains only what the plan puts there.
  // It is attached over an existing directory of this (private) mount namespace only so that
  // pivot_root can use it; nothing of the host is visible through it.
  int root = new_tmpfs("4194304", "0755", image.root_inodes, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  CONFINE_CHECK(root, err, Step::kRootTmpfs, 0);
  // Listing the root and the directories created in it, nothing more: only the mounts below get
  // rights to what they hold, so a mount that no rule covers opens nothing.
  landlock_allow(image, trees.landlock, root, image.landlock.root_access, static_cast<int>(image.mount_count));
  CONFINE_CHECK(sys::move_mount(root, "", AT_FDCWD, image.root_parent, MOVE_MOUNT_F_EMPTY_PATH), err,
                Step::kRootTmpfs, 0);

  for (size_t i = 0; i < image.mount_count; ++i) {
    const MountStep& step = image.mounts[i];
    const int index = static_cast<int>(i);
    if (step.kind == MountKind::kSymlink) {
      char name[kPathMax];
      int parent = open_parent(root, step.target, name);
      CONFINE_CHECK(parent, err, Step::kMountpoint, index);
      CONFINE_CHECK(::symlinkat(step.source, parent, name), err, Step::kSymlink, index);
      if (parent != root) ::close(parent);
      continue;
    }
    // Masks go over paths that already exist inside a bind (which may be read-only): never
    // create them. Everything else gets its mountpoint created in the root tmpfs as needed.
    const bool is_mask = step.kind == MountKind::kMaskDir || step.kind == MountKind::kMaskFile;
    int mountpoint = make_mountpoint(root, step.target, step.is_dir, /*create=*/!is_mask);
    CONFINE_CHECK(mountpoint, err, Step::kMountpoint, index);
    switch (step.kind) {
      case MountKind::kBind:
      case MountKind::kMaskFile:
        CONFINE_CHECK(attach(trees.fds[i], mountpoint), err, Step::kMount, index);
        ::close(trees.fds[i]);
        trees.fds[i] = -1;
        break;
      case MountKind::kTmpfs: {
        int tmp = new_tmpfs(step.size, step.mode, step.inodes, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        CONFINE_CHECK(tmp, err, Step::kMount, index);
        // A fresh tmpfs's root exists only from now on, so its Landlock rule is added here.
        landlock_allow(image, trees.landlock, tmp, step.landlock_access, index);
        CONFINE_CHECK(attach(tmp, mountpoint), err, Step::kMount, index);
        // The output area's mount stays open for the parent (send_output_area); the mount fd
        // keeps it alive after the sandbox's namespace is gone.
        if (step.output_area) {
          trees.output = tmp;
        } else {
          ::close(tmp);
        }
        break;
      }
      case MountKind::kMaskDir: {
        // Mode 000 and read-only: the directory exists but cannot be listed, read or written.
        int mask = new_tmpfs(step.size, step.mode, step.inodes,
                             MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        CONFINE_CHECK(mask, err, Step::kMount, index);
        CONFINE_CHECK(attach(mask, mountpoint), err, Step::kMount, index);
        ::close(mask);
        break;
      }
      case MountKind::kProc: {
        // A procfs for the sandbox's own pid namespace: /proc/1 is our init, and no host
        // process is visible. The kernel only allows this while a full procfs is visible in
        // this mount namespace, so it happens before the host's tree is detached.
        int fs = sys::fsopen("proc", FSOPEN_CLOEXEC);
        CONFINE_CHECK(fs, err, Step::kProc, index);
        CONFINE_CHECK(sys::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0), err, Step::kProc, index);
        int proc = sys::fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        CONFINE_CHECK(proc, err, Step::kProc, index);
        landlock_allow(image, trees.landlock, proc, step.landlock_access, index);  // as for tmpfs
        CONFINE_CHECK(attach(proc, mountpoint), err, Step::kProc, index);
        ::close(proc);
        ::close(fs);
        break;
      }
      case MountKind::kDev:
        build_dev(image, index, mountpoint, step, trees);
        break;
      case MountKind::kSymlink:
        break;
    }
    ::close(mountpoint);
  }

  // Every mountpoint exists now; the root itself becomes read-only so the target cannot create
  // files next to its mounts (the binds and tmpfs keep their own attributes: not recursive).
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  CONFINE_CHECK(sys::mount_setattr(root, "", AT_EMPTY_PATH, &attr), err, Step::kRootReadOnly, 0);

  // pivot_root(".", ".") stacks the old root on top of the new one; detaching it removes every
  // host mount from this namespace, so no path (nor /proc/1/root, nor "..") leads back out.
  // chroot would not do: it leaves the old root reachable and forbids user namespaces inside.
  CONFINE_CHECK(::fchdir(root), err, Step::kPivotRoot, 0);
  CONFINE_CHECK(sys::pivot_root(".", "."), err, Step::kPivotRoot, 1);
  CONFINE_CHECK(sys::umount2(".", sys::kMntDetach), err, Step::kPivotRoot, 2);
  CONFINE_CHECK(::chdir("/"), err, Step::kPivotRoot, 3);
  ::close(root);
}

void send_output_area(const Image& image, Trees& trees) noexcept {
  if (trees.output < 0 || image.output_fd < 0) return;
  char byte = 'O';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &trees.output, sizeof(int));
  ssize_t sent;
  do {
    sent = ::sendmsg(image.output_fd, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  CONFINE_CHECK(sent, image.error_fd, Step::kOutputArea, 0);
  ::close(trees.output);
  trees.output = -1;
  ::close(image.output_fd);
}

}  // namespace confine::child
