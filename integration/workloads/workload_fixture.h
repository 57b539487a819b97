// The fixture of the workload tests (label `workloads`): real converters from Debian (ImageMagick,
// Ghostscript, ffmpeg, pandoc, LibreOffice, Python) run under the shipped policies in policies/,
// with honest inputs and hostile ones.
//
// Every run uses the mode the README recommends for services: the job dir holds the job's input
// and is bound read-only as its working directory, and the job writes its results to an output
// area at /out, which confine delivers into a new host directory per run when the job ends
// (`--ro <job> --cwd <job> --output <base>/out-<n>`; docs/policy.md, `filesystem.output`).
//
// It builds on SandboxTest (integration/fixture.h): a fresh job dir, a canary secret beside it
// that no policy binds, and the leftover checks after every test. It adds what a hostile input
// needs to be judged: a listener on the host's loopback that must never see a connection, a file
// outside the job dir that must never be written, a record of the input dir to show the job did
// not change it, and a scan of everything the run produced for the canary.
#pragma once

#include <atomic>
#include <set>
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

  // `confine run -p POLICY --ro <job> --cwd <job> --output <base>/out-<n> [--best-effort] OPTIONS
  // -- ARGV`, where POLICY is policies/<policy>, or `policy` itself when it is a path (a policy a
  // test wrote that extends a shipped one). --best-effort is added only where this host lacks
  // cgroup v2 memory/pids controllers (the workload policies require them); check
  // `resources_enforced()` to know which case ran. Each run gets a new output dir (`out_`), and the
  // input dir is recorded first, for NothingWrittenOutside.
  RunResult run_workload(const std::string& policy, const std::vector<std::string>& argv,
                         RunOptions options = {});
  // run_workload under CONFINE_WORKLOAD_LEARN_DIR: `confine learn` in the same shape, merged into
  // `learned` (integration/workloads/learned_policies_test.sh).
  RunResult learn_workload(const std::string& learned, const std::vector<std::string>& argv, const RunOptions& options);
  // The same command without confine, in a copy of the job dir (`<base>/plain`), for comparison.
  // Never through a shell: `env --chdir DIR ARGV...`. Tests name `plain_out_` where the sandboxed
  // command names the output area (kOutArea).
  ToolResult run_unsandboxed(const std::vector<std::string>& argv);
  [[nodiscard]] std::string plain_path(const std::string& name) const { return plain_ + "/" + name; }
  [[nodiscard]] std::string plain_out_path(const std::string& name) const { return plain_out_ + "/" + name; }
  // Copies a file from the job dir to the plain dir (inputs for run_unsandboxed).
  void copy_to_plain(const std::string& name);

  // A file the last run delivered (in its host output dir).
  [[nodiscard]] std::string out_path(const std::string& name) const { return out_ + "/" + name; }
  // The next step's input, as a service's pipeline passes it on: a file the last run delivered,
  // copied into the job dir.
  void take_delivered(const std::string& name);
  // The same for the unsandboxed runs: plain/out/NAME copied to plain/NAME.
  void take_plain_output(const std::string& name);
  // policies/<policy> with the output area capped at `files` files and directories, written as a
  // policy extending it (in the plain dir, which no run binds); returns its path for run_workload.
  std::string policy_with_output_files(const std::string& policy, int files);
  // A host directory the job may write besides its output area (bound by the test with --rw):
  // <base>/<name>, writable by the sandbox's host uid. NoCanaryLeak scans it and
  // NothingWrittenOutside allows it.
  std::string make_writable_dir(const std::string& name);

  // True when the tests run under policies `confine learn` wrote (CONFINE_WORKLOAD_POLICY_DIR,
  // learned_policies_test.sh). Such a policy has only what the honest samples used, so a hostile
  // input that reaches for a program or module the samples never ran finds nothing there at all,
  // where the preset shows it and refuses it: the few tests that assert that refusal accept the
  // stricter outcome instead, and say so. Every check of what escaped (canary, connections,
  // writes outside, deliveries) stays the same.
  [[nodiscard]] static bool learned_policies();

  // True when this host enforces the policies' cgroup limits (no --best-effort was needed).
  // CONFINE_INTEG_BEST_EFFORT=1 says it does not, where the controllers exist but confine gets
  // no cgroup (a read-only cgroupfs, as in a container: the VM matrix).
  [[nodiscard]] static bool resources_enforced();

  // The last run delivered exactly `names` (relative to its output dir, "sub/x" for a file in a
  // subdirectory): regular files of mode 0644 in directories of mode 0755 and nothing else, and
  // the report's output_area lists the same files as copied and refuses nothing.
  ::testing::AssertionResult Delivered(const RunResult& r, const std::set<std::string>& names) const;

  // Nothing the run produced mentions the canary: confine's stdout, stderr and report, and every
  // file under the job dir, every run's output dir and the dirs from make_writable_dir (outputs,
  // logs, caches the tool wrote there; symlinks followed, so a delivered link to the canary is
  // caught too).
  ::testing::AssertionResult NoCanaryLeak(const RunResult& r) const;
  // Nothing was written but the output area: `outside_` (a path hostile inputs aim at) does not
  // exist, the test's base dir holds only what the fixture and the runs put there (output dirs,
  // reports, make_writable_dir's), and the job dir is as it was before the last run_workload
  // (names, types, modes, sizes, modification times and contents).
  ::testing::AssertionResult NothingWrittenOutside() const;

  // Landlock mode has no private /tmp and no output area (docs/security.md): when the tests run
  // with CONFINE_INTEG_ISOLATION, every job gets <base>/tmp, writable, as TMPDIR and HOME
  // instead, and no --output (tests that need the area run in the namespace cells only).
  std::string tmp_;        // empty when the tests run in the policy's own mode
  std::string outside_;    // <base>/outside/pwned.txt: a host path writable by root, never bound
  std::string plain_;      // <base>/plain: the unsandboxed run's working dir
  std::string plain_out_;  // <base>/plain/out: where unsandboxed runs write what runs in the sandbox write to /out
  std::string out_;        // <base>/out-<n>: the last run's output dir, created by confine

 private:
  std::string input_before_;          // the job dir before the last run (describe_tree)
  std::set<std::string> writable_;    // make_writable_dir's names
  int outputs_ = 0;
};

// Where the workload policies' output area is inside the sandbox (the default path).
inline constexpr const char* kOutArea = "/out";

}  // namespace integ
