// The fixture of the workload tests (label `workloads`): real converters from Debian (ImageMagick,
// Ghostscript, ffmpeg, pandoc, LibreOffice, Python) run under the shipped policies in policies/,
// with honest inputs and hostile ones.
//
// It builds on SandboxTest (integration/fixture.h): a fresh job dir bound read-write, a canary
// secret beside it that no policy binds, and the leftover checks after every test. It adds what
// a hostile input needs to be judged: a listener on the host's loopback that must never see a
// connection, a file outside the job dir that must never be written, and a scan of everything
// the run produced for the canary.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"

namespace integ {

// policies/<name> in the source tree (the shipped policies, not integration/policies).
std::string shipped_policy(const std::string& name);

// A TCP listener on 127.0.0.1 (an ephemeral port) in the host's network namespace, counting
// every connection it accepts. A sandbox with `network.mode = "none"` must never reach it.
class LoopbackListener {
 public:
  LoopbackListener();
  ~LoopbackListener();
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const;  // "http://127.0.0.1:<port>/confine-canary"
  [[nodiscard]] int connections() const { return connections_.load(); }

 private:
  void serve();
  int fd_ = -1;
  int stop_fd_ = -1;  // eventfd: wakes serve() for shutdown
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

struct ToolResult {
  int exit_code = -1;  // -1 when it died of a signal
  std::string out;
  std::string err;
  [[nodiscard]] std::string describe() const;
};

class WorkloadTest : public SandboxTest {
 protected:
  void SetUp() override;

  // The tool is installed (resolved on the host's PATH, or an absolute path that exists), or
  // the test is skipped (a failure under CONFINE_REQUIRE_ALL=1).
  static bool have_tool(const std::string& program);

  // `confine run -p policies/<policy> --rw <job> --cwd <job> [--best-effort] OPTIONS -- ARGV`.
  // --best-effort is added only where this host lacks cgroup v2 memory/pids controllers (the
  // workload policies require them); check `resources_enforced()` to know which case ran.
  RunResult run_workload(const std::string& policy, const std::vector<std::string>& argv,
                         RunOptions options = {});
  // The same command without confine, in a copy of the job dir (`<base>/plain`), for comparison.
  // Never through a shell: `env --chdir DIR ARGV...`.
  ToolResult run_unsandboxed(const std::vector<std::string>& argv);
  [[nodiscard]] std::string plain_path(const std::string& name) const { return plain_ + "/" + name; }
  // Copies a file from the job dir to the plain dir (inputs for run_unsandboxed).
  void copy_to_plain(const std::string& name);

  // True when this host enforces the policies' cgroup limits (no --best-effort was needed).
  // CONFINE_INTEG_BEST_EFFORT=1 says it does not, where the controllers exist but confine gets
  // no cgroup (a read-only cgroupfs, as in a container: the VM matrix).
  [[nodiscard]] static bool resources_enforced();

  // Nothing the run produced mentions the canary: confine's stdout, stderr and report, and every
  // file under the job dir (outputs, logs, caches the tool wrote there).
  ::testing::AssertionResult NoCanaryLeak(const RunResult& r) const;
  // Nothing outside the job dir was written: `outside_` (a path hostile inputs aim at) does not
  // exist, and the test's base dir holds only what the fixture put there.
  ::testing::AssertionResult NothingWrittenOutside() const;

  // Landlock mode has no private /tmp (docs/security.md): when the tests run with
  // CONFINE_INTEG_ISOLATION, every job gets <base>/tmp, writable, as TMPDIR and HOME instead.
  std::string tmp_;      // empty when the tests run in the policy's own mode
  std::string outside_;  // <base>/outside/pwned.txt: a host path writable by root, never bound
  std::string plain_;    // <base>/plain: the unsandboxed run's working dir
};

}  // namespace integ
