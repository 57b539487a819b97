// Resource probes for the cgroup v2 tests: a memory bomb with company, an OOM in a child the
// target survives, CPU burnt for a span of wall time, and a fork storm. Each prints what it saw
// so the driver can check it against confine's report.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "probe.h"

namespace probe {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Maps and touches MIB mebibytes one at a time, so every page is really charged. Returns the
// errno of a failed mmap, 0 when all of it was touched.
int touch_mib(unsigned long long mib) {
  for (unsigned long long i = 0; i < mib; ++i) {
    void* p = ::mmap(nullptr, kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return errno;
    std::memset(p, 0x5a, kMiB);
  }
  return 0;
}

void sleep_forever() {
  while (true) ::pause();
}

uint64_t now_us(clockid_t clock) {
  timespec t{};
  ::clock_gettime(clock, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000U + static_cast<uint64_t>(t.tv_nsec) / 1000U;
}

// A memory bomb that is not alone: first a child that sleeps forever (it keeps the probe's argv,
// tag included, so the driver can look for it), then MIB mebibytes touched in this process. An
// OOM kill of the whole job takes the child too; one that picked only the bomb would leave it.
// Prints "child=PID" (the pid inside) once the child runs, then "ok" if the bomb survived.
int cmd_memhog_family(Args a) {
  unsigned long long mib = 0;
  if (!parse_u64(a[0], mib)) return kUsage;
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) return unexpected(errno, "pipe2");
  const pid_t child = ::fork();
  if (child < 0) return unexpected(errno, "fork");
  if (child == 0) {
    (void)!::write(ready[1], "r", 1);
    sleep_forever();
  }
  ::close(ready[1]);
  char byte = 0;
  const ssize_t n = ::read(ready[0], &byte, 1);
  ::close(ready[0]);
  if (n != 1) return unexpected(0, "the sleeping child did not start");
  print("child=" + std::to_string(child) + "\n");
  if (const int err = touch_mib(mib); err != 0) return denied(err, "mmap");
  print("ok\n");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  return kOk;
}

// The OOM happens below the target: a child touches MIB mebibytes while this process only waits
// for it. Prints how the child ended ("child=signal 9", "child=exit 0") and exits 0 whatever it
// was: the target itself coped.
int cmd_memhog_child(Args a) {
  unsigned long long mib = 0;
  if (!parse_u64(a[0], mib)) return kUsage;
  const pid_t child = ::fork();
  if (child < 0) return unexpected(errno, "fork");
  if (child == 0) ::_exit(touch_mib(mib) == 0 ? kOk : kDenied);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return unexpected(errno, "waitpid");
  }
  if (WIFSIGNALED(status)) {
    print("child=signal " + std::to_string(WTERMSIG(status)) + "\n");
  } else {
    print("child=exit " + std::to_string(WEXITSTATUS(status)) + "\n");
  }
  return kOk;
}

// Burns CPU for SECONDS of wall time (the `spin` probe counts CPU time instead), then prints what
// this process measured: "wall_us=W cpu_us=C". Under a CPU quota C/W is the share it was given.
int cmd_spin_wall(Args a) {
  unsigned long long seconds = 0;
  if (!parse_u64(a[0], seconds)) return kUsage;
  const uint64_t start_us = now_us(CLOCK_MONOTONIC);
  const uint64_t cpu_start_us = now_us(CLOCK_PROCESS_CPUTIME_ID);
  const uint64_t end_us = start_us + seconds * 1'000'000U;
  volatile unsigned long long sink = 0;
  uint64_t t = start_us;
  while (t < end_us) {
    for (int i = 0; i < 100000; ++i) sink = sink + static_cast<unsigned long long>(i);
    t = now_us(CLOCK_MONOTONIC);
  }
  const uint64_t cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID) - cpu_start_us;
  print("wall_us=" + std::to_string(t - start_us) + " cpu_us=" + std::to_string(cpu_us) + "\n");
  return kOk;
}

// A fork storm that never ends by itself: LINEAGES (default 4) processes that each fork a
// successor and exit at once, forever, so the job's pids change all the time (a killer that
// lists pids and then signals them always misses the newest). The target stays alive, printing
// "storm started", so only a limit ends the job. Fork failures (pids.max) are retried.
int cmd_fork_storm(Args a) {
  unsigned long long lineages = 4;
  if (a.size() == 1 && (!parse_u64(a[0], lineages) || lineages == 0 || lineages > 16)) return kUsage;
  for (unsigned long long i = 0; i < lineages; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) return unexpected(errno, "fork");
    if (pid != 0) continue;
    // A lineage: fork the successor, then leave; the successor does the same.
    while (true) {
      const pid_t next = ::fork();
      if (next > 0) ::_exit(0);
      if (next < 0) {
        timespec pause{0, 1'000'000};
        ::nanosleep(&pause, nullptr);
      }
    }
  }
  print("storm started\n");
  // The lineages' first members are our children: reap them so they do not linger as zombies.
  while (true) {
    if (::waitpid(-1, nullptr, 0) < 0 && errno == ECHILD) sleep_forever();
  }
}

constexpr Command kCommands[] = {
    {"memhog-family", "MB", 1, 1, cmd_memhog_family},
    {"memhog-child", "MB", 1, 1, cmd_memhog_child},
    {"spin-wall", "SECONDS", 1, 1, cmd_spin_wall},
    {"fork-storm", "[LINEAGES]", 0, 1, cmd_fork_storm},
};

}  // namespace

std::span<const Command> memory_commands() { return kCommands; }

}  // namespace probe
