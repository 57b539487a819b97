#include "image.h"

#include <sched.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "confine/host.h"

namespace confine::launch {
namespace {

child::MountKind to_child(plan::MountKind kind) {
  switch (kind) {
    case plan::MountKind::kBind: return child::MountKind::kBind;
    case plan::MountKind::kTmpfs: return child::MountKind::kTmpfs;
    case plan::MountKind::kDev: return child::MountKind::kDev;
    case plan::MountKind::kProc: return child::MountKind::kProc;
    case plan::MountKind::kSymlink: return child::MountKind::kSymlink;
    case plan::MountKind::kMaskDir: return child::MountKind::kMaskDir;
    case plan::MountKind::kMaskFile: return child::MountKind::kMaskFile;
  }
  return child::MountKind::kBind;
}

// The kernel's, fixed at its build: read once per process (a batch worker launches many).
int read_cap_last() {
  static const int last_cap = [] {
    const auto last = host::read_number("/proc/sys/kernel/cap_last_cap");
    return last && *last > 0 && *last < 64 ? static_cast<int>(*last) : 40;
  }();
  return last_cap;
}

}  // namespace

const char* ChildImage::keep(std::string s) {
  strings_.push_back(std::move(s));
  return strings_.back().c_str();
}

Expected<std::unique_ptr<ChildImage>> ChildImage::build(const plan::Plan& plan) {
  std::unique_ptr<ChildImage> out(new ChildImage());
  ChildImage& c = *out;
  if (plan.mounts.size() > child::kMaxMountSteps) {
    return fail(ErrorCode::kInvalidArgument, "the plan has " + std::to_string(plan.mounts.size()) +
                                                 " mount steps; at most " + std::to_string(child::kMaxMountSteps) + " are supported");
  }
  for (const auto& op : plan.mounts) {
    if (op.target.size() < 2 || op.target.front() != '/') {
      return fail(ErrorCode::kInvalidArgument, "cannot mount at '" + op.target + "' (" + op.origin +
                                                   "): the sandbox root is always a fresh tmpfs; list the directories to expose instead of /");
    }
    child::MountStep step;
    step.kind = to_child(op.kind);
    step.read_only = op.read_only;
    step.is_dir = op.source_is_dir;
    step.output_area = op.output_area;
    step.source = op.source.empty() ? nullptr : c.keep(op.source);
    step.target = c.keep(op.target.substr(1));
    step.landlock_access = op.landlock_access;
    switch (op.kind) {
      // Every tmpfs gets an inode cap as well as a size cap: empty files cost no size, and a
      // job creating millions of them pinned gigabytes of host kernel memory.
      case plan::MountKind::kTmpfs:
        step.size = c.keep(std::to_string(op.size_bytes));
        step.mode = c.keep("01777");
        step.inodes = c.keep(std::to_string(op.inodes > 0 ? op.inodes : policy::kMinTmpfsInodes));
        break;
      case plan::MountKind::kDev:
        step.size = c.keep("65536");
        step.mode = c.keep("0755");
        step.inodes = c.keep("32");  // the root, five nodes, four links; read-only once built
        break;
      case plan::MountKind::kMaskDir:
        step.size = c.keep("4096");
        step.mode = c.keep("0000");
        step.inodes = c.keep("1");  // its root only; it is read-only anyway
        break;
      default:
        break;
    }
    c.steps_.push_back(step);
  }
  for (const auto& r : plan.rlimits) c.rlimits_.push_back(child::Rlimit{r.resource, r.soft, r.hard});
  if (plan.ucount_limits.size() > child::kMaxSysctls) return fail(ErrorCode::kInternal, "too many ucount limits");
  for (const auto& [name, value] : plan.ucount_limits) {
    const std::string text = std::to_string(value);
    c.sysctls_.push_back(child::Sysctl{c.keep(name), c.keep(text), text.size()});
  }
  for (const auto& a : plan.argv) c.argv_.push_back(const_cast<char*>(c.keep(a)));
  c.argv_.push_back(nullptr);
  for (const auto& e : plan.envp) c.envp_.push_back(const_cast<char*>(c.keep(e)));
  c.envp_.push_back(nullptr);

  child::Image& img = c.image_;
  // The root tmpfs holds only mountpoints and the directories above them (read-only once built).
  img.root_inodes = c.keep(std::to_string(64 + 4 * plan.mounts.size()));
  img.mounts = c.steps_.data();
  img.mount_count = c.steps_.size();
  img.uid = plan.uid;
  img.gid = plan.gid;
  img.sysctls = c.sysctls_.data();
  img.sysctl_count = c.sysctls_.size();
  img.new_net = (plan.clone_flags & CLONE_NEWNET) != 0;
  img.hostname = c.keep(plan.hostname);
  img.hostname_len = plan.hostname.size();
  img.cwd = c.keep(plan.cwd.empty() ? "/" : plan.cwd);
  img.rlimits = c.rlimits_.data();
  img.rlimit_count = c.rlimits_.size();
  img.keep_caps = plan.keep_caps;
  img.cap_last = read_cap_last();
  if (plan.seccomp) {
    c.seccomp_.len = static_cast<unsigned short>(plan.seccomp->instructions.size());
    c.seccomp_.filter = const_cast<sock_filter*>(plan.seccomp->instructions.data());
    img.seccomp = &c.seccomp_;
  }
  if (plan.isolation == plan::Isolation::kLandlock) {
    img.switch_ids = plan.direct_switch_ids;
    for (const plan::DirectRule& rule : plan.direct_rules) {
      c.direct_rules_.push_back(child::DirectRule{c.keep(rule.path), rule.access, rule.optional});
    }
    img.direct_rules = c.direct_rules_.data();
    img.direct_rule_count = c.direct_rules_.size();
  }
  if (const auto& ll = plan.landlock) {
    img.landlock = child::LandlockImage{ll->abi, ll->handled_fs, ll->handled_net, ll->scoped, ll->root_access,
                                        ll->dev_node_access};
  }
  img.exec_path = c.keep(plan.exec_path);
  img.argv = c.argv_.data();
  img.envp = c.envp_.data();
  return out;
}

namespace {

// Lays a child::Image out in one block. Run twice: with no base it only measures; with a base
// of at least that many bytes it copies. Every pointer it returns points into the block.
class Packer {
 public:
  explicit Packer(char* base) : base_(base) {}

  template <class T>
  T* reserve(size_t count) {
    used_ = (used_ + alignof(T) - 1) & ~(alignof(T) - 1);
    T* at = base_ != nullptr ? reinterpret_cast<T*>(base_ + used_) : nullptr;
    used_ += count * sizeof(T);
    return at;
  }
  template <class T>
  T* copy(const T* from, size_t count) {
    T* at = reserve<T>(count);
    if (at != nullptr && count > 0) std::memcpy(at, from, count * sizeof(T));
    return at;
  }
  const char* string(const char* s) { return s == nullptr ? nullptr : copy(s, std::strlen(s) + 1); }
  char* const* strings(char* const* list) {
    if (list == nullptr) return nullptr;
    size_t n = 0;
    while (list[n] != nullptr) ++n;
    char** at = reserve<char*>(n + 1);
    for (size_t i = 0; i < n; ++i) {
      const char* s = string(list[i]);
      if (at != nullptr) at[i] = const_cast<char*>(s);
    }
    if (at != nullptr) at[n] = nullptr;
    return at;
  }
  [[nodiscard]] size_t used() const { return used_; }

 private:
  char* base_;
  size_t used_ = 0;
};

child::Image* pack(Packer& p, const child::Image& from) {
  child::Image* slot = p.reserve<child::Image>(1);
  child::Image to = from;
  child::MountStep* steps = p.reserve<child::MountStep>(from.mount_count);
  for (size_t i = 0; i < from.mount_count; ++i) {
    child::MountStep step = from.mounts[i];
    step.source = p.string(step.source);
    step.target = p.string(step.target);
    step.size = p.string(step.size);
    step.mode = p.string(step.mode);
    step.inodes = p.string(step.inodes);
    if (steps != nullptr) steps[i] = step;
  }
  to.mounts = steps;
  to.root_parent = p.string(from.root_parent);
  to.root_inodes = p.string(from.root_inodes);
  to.hostname = p.string(from.hostname);
  to.cwd = p.string(from.cwd);
  to.rlimits = p.copy(from.rlimits, from.rlimit_count);
  child::Sysctl* sysctls = p.reserve<child::Sysctl>(from.sysctl_count);
  for (size_t i = 0; i < from.sysctl_count; ++i) {
    child::Sysctl one = from.sysctls[i];
    one.path = p.string(one.path);
    one.value = p.string(one.value);
    if (sysctls != nullptr) sysctls[i] = one;
  }
  to.sysctls = sysctls;
  child::DirectRule* rules = p.reserve<child::DirectRule>(from.direct_rule_count);
  for (size_t i = 0; i < from.direct_rule_count; ++i) {
    child::DirectRule one = from.direct_rules[i];
    one.path = p.string(one.path);
    if (rules != nullptr) rules[i] = one;
  }
  to.direct_rules = rules;
  if (from.seccomp != nullptr) {
    sock_fprog* prog = p.reserve<sock_fprog>(1);
    sock_filter* code = p.copy(from.seccomp->filter, from.seccomp->len);
    if (prog != nullptr) *prog = sock_fprog{from.seccomp->len, code};
    to.seccomp = prog;
  }
  to.exec_path = p.string(from.exec_path);
  to.argv = p.strings(from.argv);
  to.envp = p.strings(from.envp);
  if (from.affinity != nullptr) {
    to.affinity = reinterpret_cast<const cpu_set_t*>(
        p.copy(reinterpret_cast<const unsigned char*>(from.affinity), from.affinity_size));
  }
  if (slot != nullptr) *slot = to;
  return slot;
}

// The last launch's image mapping, kept for this process's next launch (a batch worker's next
// job). A new one each job cost an mmap and a munmap, and the munmap flushes the TLB of every
// CPU the worker ran on, through an interrupt that a VM pays dearly for. Reuse is sound: the
// mapping is private, so the clone got its own copy-on-write view of it, and the previous job's
// init is gone before the next image is written (run_blocked returns after reaping it). What a
// smaller image leaves at the end of the mapping is never read: the child finds everything
// through the pointers pack() writes.
struct SpareMapping {
  void* base = nullptr;
  size_t bytes = 0;
};
SpareMapping spare_image;

}  // namespace

Expected<ImageCopy> ImageCopy::make(const child::Image& from) {
  Packer measure(nullptr);
  (void)pack(measure, from);
  size_t bytes = (measure.used() + 4095) & ~size_t{4095};
  void* base = nullptr;
  if (spare_image.base != nullptr && spare_image.bytes >= bytes) {
    base = std::exchange(spare_image.base, nullptr);
    bytes = spare_image.bytes;
    // The last clone left these pages copy-on-write: one call makes them writable again, where
    // packing into them took a fault per page, each a trip through the hypervisor (~20 us).
    // Linux 5.14; on older kernels (EINVAL) the faults happen as before.
    (void)::madvise(base, bytes, MADV_POPULATE_WRITE);
  } else {
    if (spare_image.base != nullptr) (void)::munmap(std::exchange(spare_image.base, nullptr), spare_image.bytes);
    // MAP_POPULATE: the pages are written right below anyway; one call beats a fault per page.
    base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (base == MAP_FAILED) return fail_errno(errno, "mmap for the child's image");
  }
  Packer write(static_cast<char*>(base));
  child::Image* image = pack(write, from);
  // Once the target runs, the init needs none of this (see child::Image::release_begin).
  image->release_begin = reinterpret_cast<uintptr_t>(base);
  image->release_bytes = bytes;
  return ImageCopy(base, bytes, image);
}

ImageCopy::ImageCopy(ImageCopy&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), bytes_(std::exchange(other.bytes_, 0)),
      image_(std::exchange(other.image_, nullptr)) {}

ImageCopy::~ImageCopy() {
  if (base_ == nullptr) return;
  if (spare_image.base == nullptr) {
    spare_image = SpareMapping{base_, bytes_};
  } else {
    (void)::munmap(base_, bytes_);
  }
}

}  // namespace confine::launch
