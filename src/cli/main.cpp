// confine's entry point: parse the command line, set up logging, dispatch to a subcommand.
//
// Exit codes (docs/report.md): the target's own code; 128+N when it died of signal N; 124 on a
// timeout; 125 when confine itself fails (including bad usage); 126/127 when the command was
// found but not executable / not found.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "command_line.h"
#include "commands.h"
#include "confine/report.h"
#include "log.h"

namespace {

// Page faults are what a launch mostly costs on the VMs confine runs on: about 10 us each here
// (measured: one fresh anonymous page per fault), against well under 1 us a page when the
// kernel populates a range in one call. A launch touched about 70 fresh heap pages and a dozen
// stack pages one fault at a time. So the heap is grown once up front and kept (no trimming,
// no mmap'd chunks), and it and the stack below us are populated with one madvise each.
// MADV_POPULATE_WRITE needs Linux 5.14; on older kernels these calls fail and cost nothing.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
constexpr uintptr_t kPage = 4096;

void populate(uintptr_t begin, uintptr_t end) {
  begin = (begin + kPage - 1) & ~(kPage - 1);
  end &= ~(kPage - 1);
  if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

void prefault_heap() {
  // A default-policy launch, --report included, stays under 192 KiB now: perf stat counts no
  // more page faults with 192 KiB prefaulted than with 512 KiB. Every page populated costs
  // its allocation here and its teardown at exit whether or not the launch touches it; 512 KiB
  // populated about 64 pages nothing used, measured at 0.5-0.8 ms a launch (interleaved runs,
  // scripts/bench-launch.sh's machine). 256 KiB keeps a margin; a bigger launch faults past it.
  constexpr size_t kHeapBytes = 256 * 1024;
  (void)::mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);  // keep blocks this size in the heap
  (void)::mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);  // and never hand the heap back
  void* block = std::malloc(kHeapBytes);
  if (block == nullptr) return;
  populate(reinterpret_cast<uintptr_t>(block), reinterpret_cast<uintptr_t>(block) + kHeapBytes);
  std::free(block);
}

// The kernel maps 128 KiB of stack at exec (the VMA, not the pages), so this range is inside it.
void prefault_stack() {
  constexpr uintptr_t kStackBytes = 96 * 1024;  // a launch reaches about 50 KiB deep
  const int here = 0;
  const auto top = reinterpret_cast<uintptr_t>(&here);
  populate(top - kStackBytes, top - kPage);  // the page we are on is present already
}

// confine's code, mapped in one call. A launch runs code scattered over most of the 3 MiB of
// text (libc, libstdc++, CLI11, spdlog, toml++, libseccomp, confine), and each first touch of
// a 64 KiB stretch was a read fault, about 40 of them after this point. MADV_POPULATE_READ
// maps the page-cache pages without a fault each. It runs as a constructor, ahead of the C++
// library's own static initialisers, which are the first big users. Linux 5.14; on older
// kernels it fails and costs nothing. Where cli/entry.cpp is built in, it has done this (and
// more) before glibc's start-up code ran.
#if !defined(CONFINE_EARLY_POPULATE)
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
extern "C" char __executable_start[], etext[];  // the linker's bounds of the text segment
__attribute__((constructor(101))) void populate_text() {
  const auto begin = reinterpret_cast<uintptr_t>(__executable_start) & ~(kPage - 1);
  const auto end = (reinterpret_cast<uintptr_t>(etext) + kPage - 1) & ~(kPage - 1);
  if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
}
#endif

// Descriptors 0, 1 and 2 are open from here on, /dev/null for any the caller closed. Otherwise
// the next open() lands there: the report file opened as fd 2 collects confine's own log lines
// in front of the JSON, and the sandbox keeps 0-2 for the target, so a descriptor confine
// opened for itself would become the target's stdin, stdout or stderr (sshd's sanitise_stdfd
// does the same).
bool open_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    const int null = ::open("/dev/null", O_RDWR);  // the lowest free descriptor: fd itself
    if (null != fd) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (!open_standard_fds()) return confine::report::kExitConfineFailed;
  // A caller's stdout or stderr may be a pipe nobody reads any more. A log line written there
  // must not kill confine with SIGPIPE halfway through a run (no report, a leaf left behind);
  // the write fails with EPIPE instead. The target gets the default disposition back before
  // its execve (child/init.cpp).
  ::signal(SIGPIPE, SIG_IGN);
  prefault_heap();
  prefault_stack();
  using confine::cli::Subcommand;
  confine::cli::CommandLine line = confine::cli::parse_command_line(argc, argv, std::cout, std::cerr);
  if (line.exit_code) return *line.exit_code;

  // confine's own lines go where --log-fd/--log-file say (log.h); a destination that cannot be
  // used is bad usage, reported on stderr before anything runs.
  if (auto logging = confine::cli::setup_logging(line.log); !logging) {
    confine::cli::error(logging.error().render());
    return confine::report::kExitConfineFailed;
  }
  switch (line.subcommand) {
    case Subcommand::kRun: return confine::cli::run_command(line.run);
    case Subcommand::kBatch: return confine::cli::batch_command(line.batch);
    case Subcommand::kCheck: return confine::cli::check_command(line.check_policies);
    case Subcommand::kExplain: return confine::cli::explain_command(line.explain_policy, line.explain_json);
    case Subcommand::kDoctor: return confine::cli::doctor_command(line.doctor_policy, line.doctor_json, line.doctor_isolation);
    case Subcommand::kReport: return confine::cli::report_command(line.report_file);
    case Subcommand::kLearn: return confine::cli::learn_command(line.learn);
    case Subcommand::kNone: break;
  }
  return confine::report::kExitConfineFailed;
}
