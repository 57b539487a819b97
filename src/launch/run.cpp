// The parent half: everything is computed here before clone, the child only makes syscalls.
//
//   cgroup leaf -> child image -> pipes -> clone3(ns flags | CLONE_PIDFD | CLONE_INTO_CGROUP)
//   -> id maps -> "go" -> reaper loop (reaper.cpp) -> accounting -> leaf removed -> report
#include <fcntl.h>
#include <grp.h>
#include <link.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "confine/cgroup.h"
#include "confine/child.h"
#include "confine/fd.h"
#include "confine/host.h"
#include "confine/launch.h"
#include "confine/reap.h"
#include "direct.h"
#include "failure.h"
#include "image.h"
#include "output_area.h"
#include "owner.h"
#include "reaper.h"

namespace confine::launch {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t micros(Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

// What the launch needs from /proc/self/status, read once.
struct SelfStatus {
  // Signals confine ignores or catches: the target sets exactly these back to SIG_DFL
  // (child::Image::reset_signals). Every other one is SIG_DFL here already.
  uint64_t signals_to_reset = ~uint64_t{0};
};

// Cloning a multi-threaded process copies only the calling thread, with whatever locks the
// others held at that moment: the child could deadlock in code we do not control. confine is
// single-threaded by design (synchronous logger, no thread pools); this makes it a checked fact.
// The same read gives the signals that are not at their default (SigIgn, SigCgt; hex masks,
// bit n-1 for signal n, proc_pid_status(5)). Nothing in confine changes a disposition between
// here and the clone. A mask that cannot be read leaves all ones: every signal is reset.
Expected<SelfStatus> read_self_status_now() {
  // host::read_text: one open and read, no stream machinery (locale, filebuf) on the way.
  const auto status = host::read_text("/proc/self/status");
  if (!status) return fail(ErrorCode::kInternal, "cannot read /proc/self/status");
  std::optional<int> threads;
  std::optional<uint64_t> ignored, caught;
  // The number after "Key:" (and blanks) in base 10 or 16.
  auto field = [](std::string_view line, size_t key_len, int base) -> std::optional<uint64_t> {
    line.remove_prefix(key_len);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), value, base);
    if (ec != std::errc() || end == line.data()) return std::nullopt;
    return value;
  };
  std::string_view rest(*status);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.starts_with("Threads:")) {
      if (auto n = field(line, 8, 10)) threads = static_cast<int>(*n);
    } else if (line.starts_with("SigIgn:")) {
      ignored = field(line, 7, 16);
    } else if (line.starts_with("SigCgt:")) {
      caught = field(line, 7, 16);
    }
  }
  if (!threads) return fail(ErrorCode::kInternal, "cannot read the thread count from /proc/self/status");
  if (*threads != 1) {
    return fail(ErrorCode::kInternal, "confine has " + std::to_string(*threads) + " threads; refusing to clone");
  }
  SelfStatus out;
  if (ignored && caught) out.signals_to_reset = *ignored | *caught;
  return out;
}

// Once per process: a batch worker launches thousands of jobs, and the kernel takes about 50 us
// to write /proc/self/status here. Neither answer changes within a process: confine starts no
// thread, and main() sets its one disposition (SIGPIPE ignored) before any command runs. The
// pid is part of the key, so a forked worker reads its own.
Expected<SelfStatus> read_self_status() {
  static std::optional<std::pair<pid_t, SelfStatus>> known;
  const pid_t self = ::getpid();
  if (known && known->first == self) return known->second;
  auto status = read_self_status_now();
  if (status) known.emplace(self, *status);
  return status;
}

struct Pipe {
  UniqueFd read, write;
};
Expected<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return fail_errno(errno, "pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Expected<void> write_proc_file(pid_t pid, const char* file, const std::string& text) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno(errno, "open " + path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return fail_errno(errno, "write '" + text.substr(0, text.size() - 1) + "' to " + path);
  }
  return {};
}

// The id maps: exactly one inside uid/gid, mapped to an unprivileged host id (root) or to the
// caller (rootless). setgroups is denied first: required for an unprivileged gid map, and it
// keeps the target from dropping a group used to deny it access (CVE-2014-8989).
Expected<void> write_id_maps(pid_t pid, const plan::Plan& plan) {
  auto line = [](const plan::IdMapping& m) {
    return std::to_string(m.inside) + " " + std::to_string(m.outside) + " " + std::to_string(m.count) + "\n";
  };
  if (auto r = write_proc_file(pid, "setgroups", "deny\n"); !r) return r;
  if (auto r = write_proc_file(pid, "uid_map", line(plan.uid_map)); !r) return r;
  return write_proc_file(pid, "gid_map", line(plan.gid_map));
}

// The shared page for child::Mark stamps: MAP_SHARED, so the clone and the target's fork write
// into the parent's copy; execve drops it from the target.
//
// One page serves every launch of a process (a batch worker's jobs): mapping and unmapping it
// each job cost two syscalls, a fault, and on munmap a TLB flush interrupting every CPU the
// worker ran on. It is zeroed for each launch; no earlier job can write it any more, since only
// the init and the target before its execve do, and run_blocked returns after reaping the init.
// A page is shared with forked processes too, so it belongs to the pid that mapped it.
struct SpareMarks {
  uint64_t* page = nullptr;
  pid_t owner = 0;
};
class Marks {
 public:
  Marks() : owner_(::getpid()) {
    if (spare_.page != nullptr && spare_.owner == owner_) {
      page_ = std::exchange(spare_.page, nullptr);
      std::memset(page_, 0, 4096);
      return;
    }
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    page_ = p == MAP_FAILED ? nullptr : static_cast<uint64_t*>(p);
  }
  ~Marks() {
    if (page_ == nullptr) return;
    if (spare_.page == nullptr || spare_.owner != owner_) {
      spare_ = SpareMarks{page_, owner_};  // a page another process mapped is left to it
    } else {
      ::munmap(page_, 4096);
    }
  }
  Marks(const Marks&) = delete;
  Marks& operator=(const Marks&) = delete;
  [[nodiscard]] uint64_t* slots() const { return page_; }
  // The stamp as a steady_clock time point (both are CLOCK_MONOTONIC on Linux), if stamped.
  [[nodiscard]] std::optional<Clock::time_point> at(child::Mark m) const {
    if (page_ == nullptr || page_[static_cast<size_t>(m)] == 0) return std::nullopt;
    return Clock::time_point(std::chrono::nanoseconds(page_[static_cast<size_t>(m)]));
  }

 private:
  static inline SpareMarks spare_;
  uint64_t* page_ = nullptr;
  pid_t owner_ = 0;
};

// Setup phases from the parent's clock and the child's stamps: each is the time since the
// previous checkpoint that was reached, so they add up to the setup time and the slowest
// step stands out. Steps the child never reached are left out.
void append_setup_phases(std::vector<report::Phase>& phases, const Marks& marks, Clock::time_point start,
                         Clock::time_point clone, std::optional<Clock::time_point> exec_at) {
  auto micros_between = [](Clock::time_point a, Clock::time_point b) {
    return b > a ? static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(b - a).count()) : 0;
  };
  phases.push_back({"prepare", micros_between(start, clone)});
  Clock::time_point previous = clone;
  const char* name = "clone";
  for (size_t i = 0; i < child::kSetupMarkCount; ++i) {
    auto t = marks.at(static_cast<child::Mark>(i));
    if (!t) continue;
    phases.push_back({name, micros_between(previous, *t)});
    previous = *t;
    name = child::kMarkNames[i + 1];
  }
  if (exec_at) phases.push_back({"execve", micros_between(previous, *exec_at)});
}

// Setup hands control back and forth between confine, the init and the target half a dozen
// times (clone, id maps, the target's fork and exec, its exit). On a VM each hand-off to an idle
// CPU costs a wake-up of that virtual CPU, 100-200 us each measured here; on one CPU it is a
// plain context switch. So while it lives, confine runs on the CPU it is on, the child inherits
// that, and the target restores the caller's mask before its execve: the job itself runs
// wherever the caller allowed. Nothing changes when the caller allowed only one CPU anyway.
class PinnedToThisCpu {
 public:
  PinnedToThisCpu() {
    if (::sched_getaffinity(0, sizeof caller_, &caller_) != 0 || CPU_COUNT(&caller_) < 2) return;
    const int cpu = ::sched_getcpu();
    if (cpu < 0 || !CPU_ISSET(cpu, &caller_)) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pinned_ = ::sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~PinnedToThisCpu() {
    if (pinned_) (void)::sched_setaffinity(0, sizeof caller_, &caller_);
  }
  PinnedToThisCpu(const PinnedToThisCpu&) = delete;
  PinnedToThisCpu& operator=(const PinnedToThisCpu&) = delete;
  // The caller's mask, when confine pinned itself (the target must get it back).
  [[nodiscard]] const cpu_set_t* caller_mask() const { return pinned_ ? &caller_ : nullptr; }

 private:
  cpu_set_t caller_{};
  bool pinned_ = false;
};

// clone3 onto a stack of the child's own (x86_64 only, as confine is): the kernel starts the
// child with its stack pointer at args->stack + args->stack_size, so the child cannot return
// through the caller's frames; it calls fn(arg), which never returns. The parent gets the raw
// syscall result (a pid, or -errno). fn and arg ride in r8 and r9, which the syscall keeps.
extern "C" long confine_clone3_on_stack(clone_args* args, size_t size, void (*fn)(const void*), const void* arg);
asm(R"(
  .pushsection .text
  .p2align 4
  .hidden confine_clone3_on_stack
  .globl confine_clone3_on_stack
  .type confine_clone3_on_stack, @function
confine_clone3_on_stack:
  endbr64
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jz 1f
  ret
1:
  xor %ebp, %ebp
  and $-16, %rsp
  mov %r9, %rdi
  call *%r8
  ud2
  .size confine_clone3_on_stack, .-confine_clone3_on_stack
  .popsection
)");
static_assert(SYS_clone3 == 435, "the clone3 number the assembly above uses");

// The child's stack: 8 MiB (the usual RLIMIT_STACK) reserved once per process above a guard
// page, and never written by confine itself. A clone copies no page of it (none is present),
// and the child's first writes take fresh zero pages of its own. Null when it cannot be had,
// and under AddressSanitizer, which does not know this stack (each noreturn call on it warns
// of false positives to come): the child then runs on a copy of confine's stack, as before.
struct ChildStack {
  void* base = nullptr;  // the lowest usable address, just above the guard page
  size_t size = 0;
};
const ChildStack* child_stack() {
#if defined(__SANITIZE_ADDRESS__)
  return nullptr;
#else
  static const ChildStack stack = [] {
    constexpr size_t kGuard = 4096, kSize = size_t{8} << 20;
    void* p = ::mmap(nullptr, kGuard + kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                     -1, 0);
    if (p == MAP_FAILED) return ChildStack{};
    if (::mprotect(p, kGuard, PROT_NONE) != 0) {
      (void)::munmap(p, kGuard + kSize);
      return ChildStack{};
    }
    return ChildStack{static_cast<char*>(p) + kGuard, kSize};
  }();
  return stack.size > 0 ? &stack : nullptr;
#endif
}

// The top of the child's stack, where the init and the target before its execve run: about
// four pages (perf, 100 batch jobs). Each first touch of a page of the fresh stack was a fault,
// a trip through the hypervisor on this project's VMs; MADV_POPULATE_WRITE (Linux 5.14) maps
// them all in one call, from the child, on its own copy of the mapping. On an older kernel it
// fails with EINVAL and the faults happen as before.
void warm_child_stack(const ChildStack& stack) noexcept {
  constexpr size_t kWarm = 16 * 1024;
  if (stack.size < kWarm) return;
  (void)::madvise(static_cast<char*>(stack.base) + stack.size - kWarm, kWarm, MADV_POPULATE_WRITE);
}

// The child's first instructions, on its own stack (confine_clone3_on_stack).
[[noreturn]] void child_entry(const void* image) noexcept {
  if (const ChildStack* stack = child_stack()) warm_child_stack(*stack);
  child::run(*static_cast<const child::Image*>(image));
}

// A range of confine's memory the clone must not copy: page-aligned, empty when unknown.
struct Range {
  uintptr_t begin = 0;
  size_t bytes = 0;
};

// The main thread's stack, kept out of a clone whose child runs on its own stack. Without this
// the clone write-protects every present stack page in both processes, and confine takes a
// copy-on-write fault on each one it writes while the job runs (perf: about 6 a job in a batch
// worker; about 15 us each on this project's VMs). The bounds are the [stack] mapping as it was
// first seen; a launch from another thread's stack (a test's) keeps nothing out.
Range main_stack_range() {
  static const Range stack = [] {
    const std::string maps = host::read_text("/proc/self/maps").value_or("");
    const size_t at = maps.find(" [stack]\n");
    if (at == std::string::npos) return Range{};
    const size_t newline = maps.rfind('\n', at);
    const char* text = maps.data() + (newline == std::string::npos ? 0 : newline + 1);
    const char* stop = maps.data() + at;
    uintptr_t begin = 0, end = 0;
    auto [dash, e1] = std::from_chars(text, stop, begin, 16);
    if (e1 != std::errc() || dash == stop || *dash != '-') return Range{};
    auto [rest, e2] = std::from_chars(dash + 1, stop, end, 16);
    if (e2 != std::errc() || end <= begin) return Range{};
    return Range{begin, end - begin};
  }();
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (here < stack.begin || here - stack.begin >= stack.bytes) return Range{};
  return stack;
}

// confine's read-only segments (its code, its constants), handed to every child already
// mapped. fork copies page table entries only for mappings that have anonymous pages; a
// file-backed segment's are left out, and the child takes a page fault on each page of code or
// constants it first reads, about 18 us each on this project's VMs (the sandbox's init and the
// target before exec took about 13 a job; perf with -d). Writing one byte of each segment,
// unchanged, through /proc/self/mem (as a debugger sets a breakpoint: no mprotect, the segment
// never writable) gives the mapping an anonymous page, and from then on each clone copies the
// entries of the pages confine has mapped. Measured with a test program: 13 reads of a 4 MiB
// file mapping in a fresh child took 277 us, and 83 us after the write; the fork took 19 us
// longer. Once per process; a kernel that refuses the write (proc_mem.force_override) changes
// nothing but the speed. The byte written is the byte that is there: confine's code and
// constants never change, and no segment is ever writable through a mapping.
int share_read_only_segments(dl_phdr_info* info, size_t, void* mem) {
  // The main program only: the first object dl_iterate_phdr reports (a static binary has no
  // other).
  for (size_t i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0 || ph.p_memsz == 0) continue;
    const uintptr_t first = (info->dlpi_addr + ph.p_vaddr + 4095) & ~uintptr_t{4095};
    if (first >= info->dlpi_addr + ph.p_vaddr + ph.p_memsz) continue;
    const char byte = *reinterpret_cast<const volatile char*>(first);
    if (::pwrite(*static_cast<int*>(mem), &byte, 1, static_cast<off_t>(first)) != 1) return 1;  // refused: only slower
  }
  return 1;  // stop after the main program
}

void share_code_with_children() {
  static const bool done = [] {
    int mem = ::open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (mem < 0) return false;
    dl_iterate_phdr(share_read_only_segments, &mem);
    ::close(mem);
    return true;
  }();
  (void)done;
}

// malloc's heap, kept out of the clone (NotForked below). The child
// runs from an ImageCopy outside the heap and never allocates, so it needs none of the heap;
// without this the clone copies the page table entries of a prefaulted heap (about 130 pages
// for a default launch) and write-protects them in both processes, and confine then takes a
// copy-on-write fault, about 10 us each here, on every heap page it writes while the job
// runs. The first page stays: glibc puts the main thread's TLS block (errno, the stack
// protector's canary) at the start of the brk area, just below the arena, and the child reads
// it. Empty when the bounds are unknown (a sanitizer's allocator does not use brk).
Range heap_range() {
  const auto end = reinterpret_cast<uintptr_t>(::sbrk(0));
  const auto arena = static_cast<uintptr_t>(::mallinfo2().arena);
  constexpr uintptr_t kPage = 4096;
  if (arena == 0 || arena > end) return Range{};
  const uintptr_t begin = (end - arena + kPage - 1) & ~(kPage - 1);
  const uintptr_t last = end & ~(kPage - 1);
  if (last <= begin) return Range{};
  return Range{begin, last - begin};
}

// MADV_DONTFORK on a range while this object lives (nothing when the range is empty or the
// kernel refuses). Back to normal after, as the child has its own memory by then: a later clone
// in this process, such as a test's, must not find memory it does not expect to be missing.
class NotForked {
 public:
  explicit NotForked(Range range) {
    if (range.bytes > 0 && ::madvise(reinterpret_cast<void*>(range.begin), range.bytes, MADV_DONTFORK) == 0) {
      range_ = range;
    }
  }
  ~NotForked() {
    if (range_.bytes > 0) (void)::madvise(reinterpret_cast<void*>(range_.begin), range_.bytes, MADV_DOFORK);
  }
  NotForked(const NotForked&) = delete;
  NotForked& operator=(const NotForked&) = delete;

 private:
  Range range_;
};

// SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH blocked and readable from a signalfd
// while it lives; the previous mask comes back when it goes.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t handled;
    sigemptyset(&handled);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&handled, sig);
    ::sigprocmask(SIG_BLOCK, &handled, &previous_);
    fd_.reset(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~BlockedSignals() { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  [[nodiscard]] int fd() const { return fd_.get(); }

  // Consumes the signals still queued (SIGCHLD aside): ones that arrived while no sandbox was
  // running to forward them to. Restoring the mask with them pending would kill confine before
  // it writes the report.
  [[nodiscard]] std::vector<int> drain() const {
    std::vector<int> pending;
    signalfd_siginfo info{};
    while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo != SIGCHLD && info.ssi_signo != SIGWINCH) pending.push_back(static_cast<int>(info.ssi_signo));
    }
    return pending;
  }

 private:
  sigset_t previous_{};
  UniqueFd fd_;
};

report::Report base_report(const plan::Plan& plan) {
  report::Report r;
  r.confine_version = CONFINE_VERSION;
  r.command = plan.argv;
  r.policy_path = plan.policy_path;
  r.policy_sha256 = plan.policy_sha256;
  r.enforced = plan.protections;
  r.warnings = plan.warnings;
  return r;
}

report::Report setup_failed(report::Report r, std::string step, const Error& e) {
  r.outcome = report::Outcome::kSetupError;
  r.exit_code = report::kExitConfineFailed;
  r.setup_error = report::SetupFailure{std::move(step), "", e.sys_errno, e.render()};
  spdlog::error("{}", e.render());
  return r;
}

// The launch with the caller's signals held in `blocked` (see run() below).
report::Report run_blocked(const plan::Plan& plan, const BlockedSignals& blocked, const SelfStatus& self,
                           Clock::time_point t_start, learn::Observations* learned) {
  report::Report report = base_report(plan);

  // The job's cgroup: the kill unit and the kernel's accounting for everything the job starts.
  std::optional<cgroup::Leaf> leaf;
  if (!plan.cgroup_parent.empty()) {
    // The controllers the plan's writes need ("memory.max" needs "memory").
    std::vector<std::string> controllers;
    for (const auto& w : plan.cgroup_writes) {
      std::string c = w.file.substr(0, w.file.find('.'));
      if (std::find(controllers.begin(), controllers.end(), c) == controllers.end()) controllers.push_back(c);
    }
    auto created = cgroup::Leaf::create(plan.cgroup_parent, controllers);
    if (!created) return setup_failed(report, "cgroup", created.error());
    leaf.emplace(std::move(*created));
    for (const auto& w : plan.cgroup_writes) {
      if (auto r = leaf->write(w.file, w.value); !r) return setup_failed(report, "cgroup", r.error());
    }
  }

  auto built = ChildImage::build(plan);
  if (!built) return setup_failed(report, "image", built.error());
  ChildImage& image = **built;
  image.set_reset_signals(self.signals_to_reset);

  // The job's stdio: pipes or a pty that confine relays (relay.h), never the caller's own.
  RelayOptions relay_options;
  relay_options.relay_stdin = plan.relay_stdin;
  relay_options.output_limit = plan.output_limit;
  auto made_relay = Relay::create(relay_options);
  if (!made_relay) return setup_failed(report, "stdio", made_relay.error());
  Relay& relay = **made_relay;
  image.set_stdio(relay.job_fd(0), relay.job_fd(1), relay.job_fd(2));

  // The output area's host directory exists (new and empty) before the job starts: a run whose
  // results could not be delivered does not start at all (output_area.h).
  std::optional<OutputArea> output_area;
  if (plan.output_area) {
    auto prepared = OutputArea::prepare(*plan.output_area);
    if (!prepared) return setup_failed(report, "output_area", prepared.error());
    output_area.emplace(std::move(*prepared));
    image.set_output_fd(output_area->child_socket());
  }

  auto sync = make_pipe();
  auto errors = make_pipe();
  auto status = make_pipe();
  if (!sync || !errors || !status) {
    return setup_failed(report, "pipes", !sync ? sync.error() : !errors ? errors.error() : status.error());
  }
  // The channel on which the target hands over its seccomp listener (kill rules that notify).
  UniqueFd notify_parent, notify_child;
  if (plan.seccomp && plan.seccomp->notify) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
      return setup_failed(report, "socketpair", Error{ErrorCode::kSystem, errno, "socketpair for the seccomp listener", {}, {}});
    }
    notify_parent.reset(pair[0]);
    notify_child.reset(pair[1]);
  }
  image.set_fds(sync->read.get(), errors->write.get(), status->write.get(), notify_child.get());
  const PinnedToThisCpu pinned;
  if (const cpu_set_t* mask = pinned.caller_mask()) image.set_affinity(*mask);
  // A page shared with the child, where it stamps its setup checkpoints (child::Mark).
  Marks marks;
  image.set_marks(marks.slots());

  // The child reads only this copy, outside the heap (see heap_range above).
  auto copied = ImageCopy::make(image.image());
  if (!copied) return setup_failed(report, "image", copied.error());
  const ImageCopy& child_image = *copied;

  // Run as root, the job's user namespace is created by a uid of its own (owner.h): per-user
  // kernel resources the job takes are then charged to that uid, never to root's.
  std::optional<NamespaceOwner> owner;
  if (plan.namespace_owner_per_job) {
    auto acquired = NamespaceOwner::acquire();
    if (!acquired) return setup_failed(report, "namespace_owner", acquired.error());
    owner.emplace(std::move(*acquired));
  }

  // Run as root, confine drops its own supplementary groups: the child inherits them, and with
  // setgroups denied in its namespace it could never drop them itself; a root group would
  // still open group-readable host files for the target.
  if (::geteuid() == 0 && ::setgroups(0, nullptr) < 0) {
    return setup_failed(report, "setgroups", Error{ErrorCode::kSystem, errno, "setgroups(0)", {}, {}});
  }


  // Landlock mode has no pid namespace to end the job with its init: confine stands by as the
  // subreaper of last resort for what the init leaves behind (direct.h).
  const bool landlock_mode = plan.isolation == plan::Isolation::kLandlock;
  std::optional<Subreaper> subreaper;
  if (landlock_mode) subreaper.emplace();

  // clone3: the namespaces, a pidfd (race-free waiting and signalling: no pid reuse), and
  // CLONE_INTO_CGROUP so not one instruction of the child runs outside its cgroup.
  int pidfd = -1;
  clone_args args{};
  args.flags = plan.clone_flags | CLONE_PIDFD | (leaf ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (leaf) args.cgroup = static_cast<uint64_t>(leaf->dir_fd());
  const auto t_clone = Clock::now();
  long pid = 0;
  int clone_errno = 0;
  bool into_cgroup_later = false;
  {
    share_code_with_children();
    const NotForked heap(heap_range());
    // Namespace mode: the child runs on a stack of its own, so confine's stack stays out of the
    // clone too (main_stack_range).
    const ChildStack* stack = landlock_mode ? nullptr : child_stack();
    if (stack != nullptr) {
      args.stack = reinterpret_cast<uint64_t>(stack->base);
      args.stack_size = stack->size;
    }
    const NotForked own_stack(stack != nullptr ? main_stack_range() : Range{});
    auto clone = [&] {
      if (landlock_mode) {
        const long r = clone_direct(args, into_cgroup_later);
        if (r == 0) child::run_direct(child_image.image());  // never returns
        clone_errno = errno;
        return r;
      }
      if (stack != nullptr) {
        const long r = confine_clone3_on_stack(&args, sizeof(args), child_entry, &child_image.image());
        if (r >= 0) return r;  // the child never comes back here
        clone_errno = static_cast<int>(-r);
        return -1L;
      }
      const long r = ::syscall(SYS_clone3, &args, sizeof(args));
      if (r == 0) child::run(child_image.image());  // never returns
      clone_errno = errno;
      return r;
    };
    pid = owner ? owner->as_owner(clone) : clone();
  }
  if (pid < 0) {
    // Without namespaces nothing but the kernel's limits refuses a clone; with them, a seccomp
    // profile (Docker's refuses clone3 with ENOSYS) or a sysctl may.
    const bool refused = clone_errno == EPERM || clone_errno == ENOSPC || clone_errno == ENOSYS;
    return setup_failed(report, "clone3",
                        Error{ErrorCode::kSystem, clone_errno, landlock_mode ? "clone" : "clone3 with namespaces", {},
                              !landlock_mode && refused
                                  ? "this host refuses confine its namespaces (user namespaces disabled for this "
                                    "user, or a container's seccomp profile): run `confine doctor`, or run "
                                    "without namespaces with --isolation auto (or landlock)"
                                  : ""});
  }
  UniqueFd job(pidfd);
  relay.close_job_ends();
  if (output_area) output_area->close_child_socket();
  sync->read.reset();
  errors->write.reset();
  status->write.reset();
  notify_child.reset();

  // Namespaces: the id maps. Landlock mode: the leaf, where clone3 could not put the child.
  auto ready = landlock_mode ? (into_cgroup_later && leaf ? move_into(*leaf, static_cast<pid_t>(pid)) : Expected<void>{})
                             : write_id_maps(static_cast<pid_t>(pid), plan);
  if (!ready) {
    (void)::syscall(SYS_pidfd_send_signal, job.get(), SIGKILL, nullptr, 0);
    siginfo_t info{};
    (void)::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(job.get()), &info, WEXITED);
    return setup_failed(report, landlock_mode ? "cgroup" : "id_maps", ready.error());
  }
  const char go = 1;
  if (::write(sync->write.get(), &go, 1) != 1) spdlog::debug("sync write failed: {}", std::strerror(errno));
  sync->write.reset();

  ReaperInput input{plan, job.get(), blocked.fd(), errors->read.get(), status->read.get(),
                    notify_parent.get(), leaf ? &*leaf : nullptr, &relay, t_clone};
  // Without a cgroup or pid namespace, SIGKILL to the init would end it alone: Landlock mode's
  // init takes kDirectKillSignal as "kill the job's whole process tree, then exit".
  if (landlock_mode && !leaf) input.kill_signal = child::kDirectKillSignal;
  ReapResult reaped = reap_job(input);
  const auto t_exited = Clock::now();
  report.output = relay.stats();
  // Anything of the job that outlived its init came to confine (the init was killed by the job
  // itself, which Landlock below ABI 6 cannot prevent): it ends here.
  if (subreaper) {
    if (const size_t adopted = subreaper->end_adopted(); adopted > 0) {
      report.warnings.push_back(std::to_string(adopted) +
                                " process(es) of the job outlived its init and were killed by confine");
    }
  }
  // The job is gone: what it left in its output area goes to the host directory now.
  if (output_area) report.output_area = output_area->copy_out();

  // Teardown: the init's exit already SIGKILLed its namespace; the cgroup makes sure, and its
  // removal proves nothing is left (rmdir fails while any process remains).
  if (leaf) {
    if (auto removed = leaf->remove(); !removed) {
      report.warnings.push_back(removed.error().render());
    }
  }
  const auto t_done = Clock::now();

  // The report.
  reap::Classification c = reap::classify(reaped.facts);
  report.outcome = c.outcome;
  report.exit_code = c.exit_code;
  report.limits_hit = c.limits_hit;
  report.target_exit_code = reaped.facts.exit_code;
  report.signal = reaped.facts.term_signal;
  report.core_dumped = reaped.facts.core_dumped;
  report.cpu_user_us = reaped.cpu_user_us;
  report.cpu_system_us = reaped.cpu_system_us;
  report.memory_peak_bytes = reaped.memory_peak_bytes;
  report.pids_peak = reaped.pids_peak;
  report.counters = reaped.counters;
  report.seccomp_violation = reaped.seccomp_violation;
  if (plan.audit) {
    report.audit = report::Audit{std::move(reaped.denials), std::move(reaped.audit_paths)};
  } else {
    report.denials = std::move(reaped.denials);
  }
  if (learned != nullptr) *learned = std::move(reaped.learned);
  if (reaped.cancelled_by) report.cancelled = report::signal_name(*reaped.cancelled_by);
  if (reaped.setup_failure) {
    if (reaped.setup_failure->step == child::Step::kExec) {
      report.exec_error = report::ExecFailure{plan.exec_path, reaped.setup_failure->sys_errno};
    } else {
      report.setup_error = describe_failure(*reaped.setup_failure, plan);
      spdlog::error("{}", report.setup_error->message);
    }
  }
  if (report.outcome == report::Outcome::kSetupError && !report.setup_error) {
    // The child died before exec without a record (killed from outside, or by the kernel while
    // still setting up): still a setup failure, and the report says so rather than nothing.
    report.setup_error = report::SetupFailure{
        "child_setup", "", 0,
        "the sandbox ended before exec without reporting a failed step" +
            std::string(reaped.facts.term_signal ? " (killed by " + report::signal_name(*reaped.facts.term_signal) + ")" : "")};
  }
  const auto exec_at = reaped.exec_at.value_or(t_exited);
  report.wall_time_us = reaped.exec_at ? micros(t_exited - exec_at) : 0;
  // A target that never ran has no exit status or times of its own (docs/report.md): what the
  // init reported, and the CPU the sandbox's setup used, are not the target's.
  if (!reaped.exec_at) report::mark_never_started(report);
  append_setup_phases(report.phases, marks, t_start, t_clone, reaped.exec_at);
  // After exec: the target's own run until the init reaped it, then the sandbox going away (the
  // kernel tears down the init's mounts and namespaces before the parent sees it exit), then
  // confine's cleanup (the cgroup leaf).
  const auto target_exited = marks.at(child::Mark::kTargetExited);
  if (reaped.exec_at && target_exited && *target_exited >= exec_at && *target_exited <= t_exited) {
    report.phases.push_back({"run", micros(*target_exited - exec_at)});
    report.phases.push_back({"sandbox_exit", micros(t_exited - *target_exited)});
  } else {
    report.phases.push_back({"run", micros(t_exited - exec_at)});
  }
  report.phases.push_back({"teardown", micros(t_done - t_exited)});
  return report;
}

}  // namespace

report::Report run(const plan::Plan& plan, learn::Observations* learned) {
  const auto t_start = Clock::now();
  auto self = read_self_status();
  if (!self) return setup_failed(base_report(plan), "threads", self.error());
  // From here on the caller's signals wait in a signalfd: before the cgroup leaf exists, so a
  // SIGTERM during setup cannot kill confine between creating the leaf and removing it. The
  // reaper forwards them once the sandbox runs; the child inherits the mask, its init keeps
  // its own and the target resets it. The leaf lives inside run_blocked, so it is gone before
  // the mask is restored; signals that came when there was no sandbox to forward them to are
  // consumed first and noted, so they cannot kill confine before it writes the report.
  const BlockedSignals blocked;
  report::Report report = run_blocked(plan, blocked, *self, t_start, learned);
  for (int sig : blocked.drain()) {
    report.warnings.push_back("confine received " + report::signal_name(sig) +
                              " while no sandbox was running (during setup or after the job ended); "
                              "it was not forwarded");
  }
  return report;
}

}  // namespace confine::launch
