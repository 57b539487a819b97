// The child after clone may only make syscalls (STYLE.md). This makes it mechanical: every
// symbol the child library needs from elsewhere is listed with nm, and anything that allocates,
// throws, logs, reads the environment, searches PATH or calls libcap/libseccomp fails the test.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <sstream>
#include <string>

namespace {

// Runs `nm` (no shell) and returns its stdout.
std::string run_nm(const std::vector<std::string>& args) {
  int out[2];
  if (pipe(out) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "nm failed";
  return text;
}

std::set<std::string> undefined_symbols(bool demangle) {
  std::vector<std::string> args = {"nm", "--undefined-only", "--format=posix"};
  if (demangle) args.push_back("--demangle");
  args.push_back(CONFINE_CHILD_LIBRARY);
  std::istringstream in(run_nm(args));
  std::set<std::string> symbols;
  std::string line;
  while (std::getline(in, line)) {
    // posix format: "name U" (plus address fields for defined ones); archive headers end in ':'.
    if (line.empty() || line.back() == ':') continue;
    auto space = line.rfind(" U");
    if (space == std::string::npos) continue;
    symbols.insert(line.substr(0, space));
  }
  return symbols;
}

TEST(ChildSymbols, ScansTheRealLibrary) {
  auto symbols = undefined_symbols(false);
  // If these are missing, nm read the wrong file and the test below would pass vacuously.
  EXPECT_TRUE(symbols.count("syscall")) << "expected the child to use syscall()";
  EXPECT_TRUE(symbols.count("prctl"));
  EXPECT_TRUE(symbols.count("execve"));
}

TEST(ChildSymbols, NoAllocationExceptionsLoggingOrLibraryCalls) {
  const std::array<const char*, 12> forbidden_exact = {
      "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "malloc", "calloc", "realloc",
      "__cxa_throw", "__cxa_allocate_exception", "getenv", "setenv", "execvp", "execvpe"};
  const std::array<const char*, 9> forbidden_substrings = {
      "spdlog", "fmt::", "printf", "cap_", "seccomp_", "std::__cxx11::basic_string", "operator new",
      "__cxa_guard_acquire", "strerror"};
  std::vector<std::string> bad;
  for (const auto& s : undefined_symbols(false)) {
    for (const char* f : forbidden_exact) {
      if (s == f) bad.push_back(s);
    }
  }
  for (const auto& s : undefined_symbols(true)) {
    for (const char* f : forbidden_substrings) {
      if (s.find(f) != std::string::npos) bad.push_back(s);
    }
  }
  EXPECT_TRUE(bad.empty()) << "the child library calls forbidden functions: " << ::testing::PrintToString(bad);
}

}  // namespace
