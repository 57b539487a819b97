// Signal names for the report's target.signal_name.
//
// The standard signals come from <csignal> rather than a table of numbers, because their
// numbers differ between architectures (SIGSYS is 31 on x86_64 and arm64, 12 on mips).
// Realtime signals are named relative to the *kernel's* SIGRTMIN (32), not the C library's:
// glibc reserves two realtime signals for itself and calls 34 "SIGRTMIN", musl reserves three.
// The target may use either libc, so only the kernel's numbering names a signal unambiguously;
// the number itself is in the report beside the name.
#include <csignal>
#include <string>

#include "confine/report.h"

namespace confine::report {
namespace {

struct NamedSignal {
  int number;
  const char* name;
};

constexpr NamedSignal kStandardSignals[] = {
    {SIGHUP, "SIGHUP"},     {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"},     {SIGTRAP, "SIGTRAP"},     {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"},     {SIGFPE, "SIGFPE"},       {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"},   {SIGSEGV, "SIGSEGV"},     {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"},   {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"},
#ifdef SIGSTKFLT  // not on every architecture
    {SIGSTKFLT, "SIGSTKFLT"},
#endif
    {SIGCHLD, "SIGCHLD"},   {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"},
    {SIGTSTP, "SIGTSTP"},   {SIGTTIN, "SIGTTIN"},     {SIGTTOU, "SIGTTOU"},
    {SIGURG, "SIGURG"},     {SIGXCPU, "SIGXCPU"},     {SIGXFSZ, "SIGXFSZ"},
    {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"},   {SIGWINCH, "SIGWINCH"},
    {SIGIO, "SIGIO"},       // SIGPOLL is the same number; SIGIO is what Linux documents first
#ifdef SIGPWR
    {SIGPWR, "SIGPWR"},
#endif
    {SIGSYS, "SIGSYS"},
};

// The kernel's realtime range (glibc exposes it as __SIGRTMIN/__SIGRTMAX; SIGRTMIN itself is a
// function call returning the libc-adjusted value, which is exactly what we must not use).
constexpr int kKernelRtMin = __SIGRTMIN;
constexpr int kKernelRtMax = __SIGRTMAX;

}  // namespace

std::string signal_name(int signal) {
  for (const NamedSignal& known : kStandardSignals) {
    if (known.number == signal) {
      return known.name;
    }
  }
  if (signal == kKernelRtMin) {
    return "SIGRTMIN";
  }
  if (signal == kKernelRtMax) {
    return "SIGRTMAX";
  }
  if (signal > kKernelRtMin && signal < kKernelRtMax) {
    return "SIGRTMIN+" + std::to_string(signal - kKernelRtMin);
  }
  return "SIG" + std::to_string(signal);
}

}  // namespace confine::report
