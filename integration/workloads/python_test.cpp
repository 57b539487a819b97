// policies/python.toml with Debian's python3: an honest standard-library script compared with
// the same script run without confine, then scripts that read the canary, connect to the host,
// write anywhere but the output area, run a shell, fork, allocate or spin without end, and make
// syscalls the policy kills. The script and its data are the job's read-only input; it writes its
// results to /out, which confine delivers (workload_fixture.h).
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "workload_fixture.h"

namespace integ {
namespace {

// Debian's interpreter by absolute path, inside and out: another python3 may come first on the
// host's PATH.
const char* const kPython = "/usr/bin/python3";

// Reads a CSV, aggregates it with the standard library (csv, statistics, json, threads,
// asyncio, a subprocess) and writes a JSON report into the directory it is given (the output
// area). Everything it prints is deterministic.
const char* const kHonestScript = R"PY(
import asyncio, concurrent.futures, csv, json, statistics, subprocess, sys, uuid

with open("data.csv", newline="") as f:
    rows = list(csv.DictReader(f))
values = [float(r["value"]) for r in rows]

with concurrent.futures.ThreadPoolExecutor(2) as pool:
    squares = list(pool.map(lambda v: v * v, values))

async def total():
    await asyncio.sleep(0)
    return sum(values)

# Another program: allowed, and it runs in the same sandbox.
names = subprocess.run(["/usr/bin/sort"], input="\n".join(r["name"] for r in rows) + "\n",
                       capture_output=True, text=True, check=True).stdout.split()
uuid.uuid1()  # libuuid tries the uuidd socket first; socket() fails with EACCES, it falls back

report = {"count": len(values), "mean": statistics.mean(values), "median": statistics.median(values),
          "total": asyncio.run(total()), "squares": squares, "sorted_names": names}
with open(sys.argv[1] + "/report.json", "w") as f:
    json.dump(report, f, sort_keys=True, indent=1)
print("rows", len(rows))
)PY";

const char* const kData = "name,value\ncharlie,3.5\nalpha,1.25\nbravo,10\ndelta,-2\n";

class PythonWorkload : public WorkloadTest {
 protected:
  void SetUp() override {
    WorkloadTest::SetUp();
    if (HasFatalFailure()) return;
    CONFINE_REQUIRE(have_tool(kPython), "needs /usr/bin/python3 (Debian package python3)");
  }

  // Writes the script into the job dir and runs `python3 script.py ARGS` under the policy.
  RunResult run_script(const std::string& script, const std::vector<std::string>& args = {}, RunOptions options = {}) {
    write_text(job_path("script.py"), script);
    std::vector<std::string> argv{kPython, "script.py"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_workload("python.toml", argv, std::move(options));
  }

  // The same script without confine (after run_script wrote it).
  ToolResult run_script_unsandboxed(const std::vector<std::string>& args = {}) {
    copy_to_plain("script.py");
    std::vector<std::string> argv{kPython, "script.py"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_unsandboxed(argv);
  }
};

TEST_F(PythonWorkload, StandardLibraryScriptRunsLikeUnsandboxed) {
  write_text(job_path("data.csv"), kData);
  const RunResult r = run_script(kHonestScript, {kOutArea});
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_EQ(r.out, "rows 4\n");
  // Nothing but the report is delivered, and the input is untouched.
  EXPECT_TRUE(Delivered(r, {"report.json"}));
  EXPECT_TRUE(NothingWrittenOutside());
  const auto report = read_text(out_path("report.json"));
  ASSERT_TRUE(report.has_value());
  EXPECT_NE(report->find("\"sorted_names\": [\n  \"alpha\","), std::string::npos) << *report;

  copy_to_plain("data.csv");
  const ToolResult plain = run_script_unsandboxed({plain_out_});
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  EXPECT_EQ(report, read_text(plain_out_path("report.json")));
}

// Debian's add-on packages are masked: python3-yaml imports on the host, not in the sandbox.
TEST_F(PythonWorkload, SitePackagesAreNotVisible) {
  const char* const script = "import yaml\nprint('imported', yaml.__file__)\n";
  const RunResult r = run_script(script);
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  EXPECT_NE(r.err.find("ModuleNotFoundError: No module named 'yaml'"), std::string::npos) << r.describe();
  const ToolResult plain = run_script_unsandboxed();
  CONFINE_REQUIRE(plain.exit_code == 0, "needs python3-yaml on the host to show the difference");
  EXPECT_NE(plain.out.find("/usr/lib/python3/dist-packages/yaml"), std::string::npos) << plain.describe();
}

TEST_F(PythonWorkload, CannotReadTheCanary) {
  const char* const script =
      "import sys\n"
      "text = open(sys.argv[1]).read()\n"
      "print(text)\n"
      "open(sys.argv[2] + '/stolen.txt', 'w').write(text)\n";
  const RunResult r = run_script(script, {canary_, kOutArea});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  // Not in the new root; in Landlock mode there, but outside every rule.
  EXPECT_NE(r.err.find(ran_in_landlock_mode(r) ? "PermissionError" : "FileNotFoundError"), std::string::npos)
      << r.describe();
  EXPECT_TRUE(NoCanaryLeak(r));
  if (!ran_in_landlock_mode(r)) {
    EXPECT_TRUE(Delivered(r, {}));  // that mode has no output area
  }

  const ToolResult plain = run_script_unsandboxed({canary_, plain_out_});
  EXPECT_NE(plain.out.find(canary_text_), std::string::npos) << "the unsandboxed run should have read it\n" << plain.describe();
  EXPECT_NE(read_text(plain_out_path("stolen.txt")).value_or("").find(canary_text_), std::string::npos)
      << "the unsandboxed run should have written it out";
}

TEST_F(PythonWorkload, CannotConnectToTheHost) {
  LoopbackListener listener;
  const char* const script =
      "import socket, sys\n"
      "try:\n"
      "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5).close()\n"
      "    print('connected')\n"
      "except OSError as e:\n"
      "    print(type(e).__name__, e.errno)\n"
      "    sys.exit(2)\n";
  const RunResult r = run_script(script, {std::to_string(listener.port())});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 2));
  // The policy's errno rule: socket() fails with EACCES (13) before any address is tried.
  EXPECT_EQ(r.out, "PermissionError 13\n") << r.describe();
  EXPECT_EQ(listener.connections(), 0);

  const ToolResult plain = run_script_unsandboxed({std::to_string(listener.port())});
  EXPECT_EQ(plain.out, "connected\n") << plain.describe();
  for (int i = 0; i < 100 && listener.connections() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(listener.connections(), 1);
}

// Writes aimed outside the job dir, into the job's own read-only input, and into the
// interpreter's own search path (a planted .pth or module would run in every later python3).
// Each attempt prints its errno name. Only the private /tmp and the output area take writes,
// and only the output area's file is delivered.
TEST_F(PythonWorkload, CannotWriteOutsideTheOutputArea) {
  const char* const script =
      "import errno, sys\n"
      "for path in sys.argv[1:]:\n"
      "    try:\n"
      "        with open(path, 'w') as f:\n"
      "            f.write('pwned\\n')\n"
      "        print(path, 'written')\n"
      "    except OSError as e:\n"
      "        print(path, errno.errorcode[e.errno])\n";
  const RunResult r = run_script(script, {outside_, "/usr/lib/python3/dist-packages/evil.pth",
                                          "/usr/lib/python3.11/evil.py", "/tmp/private.txt", "script.py",
                                          job_path("new.txt"), "/out/result.txt"});
  ASSERT_TRUE(Ended(r, "ok", 0));
  const std::vector<std::string> out = lines(r.out);
  ASSERT_EQ(out.size(), 7U) << r.describe();
  if (ran_in_landlock_mode(r)) {
    // Landlock mode: every path is the host's, and outside the rules (write rights only where a
    // --rw gives them; dist-packages left out of /usr's rule), so each write is EACCES, or EROFS
    // where the host's /usr is itself read-only (the VM's). There is no private /tmp to write
    // to, and no output area (/out does not exist on the host).
    EXPECT_EQ(out[0], outside_ + " EACCES");
    for (const char* path : {"/usr/lib/python3/dist-packages/evil.pth", "/usr/lib/python3.11/evil.py"}) {
      const size_t i = out[1].rfind(path, 0) == 0 ? 1 : 2;
      EXPECT_TRUE(out[i] == std::string(path) + " EACCES" || out[i] == std::string(path) + " EROFS") << out[i];
    }
    EXPECT_EQ(out[3], "/tmp/private.txt EACCES");
    EXPECT_EQ(out[4], "script.py EACCES");
    EXPECT_EQ(out[5], job_path("new.txt") + " EACCES");
    EXPECT_EQ(out[6], "/out/result.txt ENOENT");
  } else {
    EXPECT_EQ(out[0], outside_ + " ENOENT");  // the outside dir does not exist in the sandbox
    // The masked dist-packages is an empty, read-only stand-in: EACCES or EROFS, never written.
    EXPECT_TRUE(out[1] == "/usr/lib/python3/dist-packages/evil.pth EACCES" ||
                out[1] == "/usr/lib/python3/dist-packages/evil.pth EROFS")
        << out[1];
    EXPECT_EQ(out[2], "/usr/lib/python3.11/evil.py EROFS");
    EXPECT_EQ(out[3], "/tmp/private.txt written");  // the private tmpfs, gone with the sandbox
    // The input dir, by a relative and by its absolute name: read-only.
    EXPECT_EQ(out[4], "script.py EROFS");
    EXPECT_EQ(out[5], job_path("new.txt") + " EROFS");
    EXPECT_EQ(out[6], "/out/result.txt written");
  }
  EXPECT_FALSE(std::filesystem::exists("/usr/lib/python3/dist-packages/evil.pth"));
  EXPECT_FALSE(std::filesystem::exists("/usr/lib/python3.11/evil.py"));
  if (!ran_in_landlock_mode(r)) {
    EXPECT_TRUE(Delivered(r, {"result.txt"}));
    EXPECT_EQ(read_text(out_path("result.txt")), "pwned\n");
  }
  EXPECT_TRUE(NothingWrittenOutside());

  // Without confine the write outside lands (only that one: the others would change the host).
  const ToolResult plain = run_script_unsandboxed({outside_});
  EXPECT_EQ(plain.out, outside_ + " written\n") << plain.describe();
  EXPECT_EQ(read_text(outside_), "pwned\n");
  ::unlink(outside_.c_str());
  EXPECT_TRUE(NothingWrittenOutside());
}

// The shell is masked: os.system fails (127) and nothing runs. Other programs do run, but in the
// same sandbox: cat cannot see the canary either.
TEST_F(PythonWorkload, ShellIsMaskedAndOtherProgramsStayConfined) {
  const char* const script =
      "import os, subprocess, sys\n"
      "print('system', os.waitstatus_to_exitcode(os.system('cat ' + sys.argv[1])))\n"
      "try:\n"
      "    r = subprocess.run(['/usr/bin/cat', sys.argv[1]], capture_output=True, text=True)\n"
      "    print('cat', r.returncode, r.stdout.strip())\n"
      "except FileNotFoundError:\n"
      "    print('cat ENOENT')\n";
  const RunResult r = run_script(script, {canary_});
  ASSERT_TRUE(Ended(r, "ok", 0));
  // A policy learned from a script that ran no program has no /usr/bin/cat at all.
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{"system 127", learned_policies() ? "cat ENOENT" : "cat 1 "}))
      << r.describe();
  EXPECT_TRUE(NoCanaryLeak(r));

  const ToolResult plain = run_script_unsandboxed({canary_});
  EXPECT_EQ(lines(plain.out), (std::vector<std::string>{canary_text_, "system 0", "cat 0 " + canary_text_}))
      << plain.describe();
}

// A fork bomb meets the pids limit (the cgroup's pids.max, or RLIMIT_NPROC per user namespace
// where the controller is missing): fork fails with EAGAIN and the script gives up. Its
// children, still sleeping, die with the sandbox's pid namespace.
TEST_F(PythonWorkload, ForkBombStopsAtThePidsLimit) {
  const char* const script =
      "import os, sys, time\n"
      "n = 0\n"
      "try:\n"
      "    while n < 1000:\n"
      "        if os.fork() == 0:\n"
      "            time.sleep(60)\n"
      "            os._exit(0)\n"
      "        n += 1\n"
      "except BlockingIOError:\n"
      "    print('refused after', n)\n"
      "    sys.exit(3)\n"
      "print('forked', n)\n";
  // The tag is in every child's argv, so survivors can be found.
  const RunResult r = run_script(script, {"--marker=" + tag_});
  ASSERT_TRUE(Ended(r, "exit_nonzero", 3));
  ASSERT_TRUE(r.report.has_value());
  for (const auto& entry : (*r.report)["enforced"]) {
    if (entry["name"] == "pids_limit") {
      EXPECT_EQ(entry["status"], resources_enforced() ? "enforced" : "enforced_fallback") << r.describe();
    }
  }
  if (resources_enforced()) {
    EXPECT_NE(std::find((*r.report)["limits_hit"].begin(), (*r.report)["limits_hit"].end(), "pids"),
              (*r.report)["limits_hit"].end())
        << r.describe();
  }
  // policies/python.toml: pids = 32, counting the interpreter itself.
  const int forked = std::stoi(r.out.substr(r.out.find_last_of(' ') + 1));
  EXPECT_GT(forked, 0) << r.describe();
  EXPECT_LT(forked, 32) << r.describe();
  EXPECT_TRUE(wait_until_gone("--marker=" + tag_, std::chrono::seconds(5)).empty());
}

// Allocation without end, with a small memory limit: an OOM kill where the cgroup memory
// controller exists, a MemoryError under the RLIMIT_AS fallback.
TEST_F(PythonWorkload, MemoryHogMeetsTheMemoryLimit) {
  const char* const script = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))\n";
  const RunResult r = run_script(script, {}, with_args({"--memory", "128M"}));
  if (resources_enforced()) {
    EXPECT_TRUE(Ended(r, "oom", 137));
  } else {
    EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
    EXPECT_NE(r.err.find("MemoryError"), std::string::npos) << r.describe();
  }
}

// A busy loop: the CPU-time limit, lowered to 2 s by --cpu-time, ends it.
TEST_F(PythonWorkload, BusyLoopEndsAtTheCpuTimeLimit) {
  const RunResult r = run_script("while True:\n    pass\n", {}, with_args({"--cpu-time", "2s", "--timeout", "20s"}));
  EXPECT_TRUE(EndedByLimit(r, "cpu_timeout", 124, "cpu_time"));
}

// Syscalls from @default-deny made directly through ctypes (no Python wrapper needed): the job
// ends and the report names the call.
TEST_F(PythonWorkload, DefaultDenySyscallsThroughCtypesEndTheJob) {
  const char* const script =
      "import ctypes, sys\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "print('returned', libc.syscall(int(sys.argv[1]), 0, 0, 0, 0, 0), ctypes.get_errno())\n";
  const std::vector<std::pair<std::string, long>> calls{
      {"unshare", SYS_unshare}, {"keyctl", SYS_keyctl}, {"bpf", SYS_bpf}, {"io_uring_setup", SYS_io_uring_setup}};
  for (const auto& [name, nr] : calls) {
    SCOPED_TRACE(name);
    const RunResult r = run_script(script, {std::to_string(nr)});
    EXPECT_EQ(r.out, "");
    if (learned_policies() && r.err.find("ImportError: libffi.so.8") != std::string::npos) {
      // A policy learned from a script that never imported ctypes has no libffi: no raw syscall
      // can be made at all. (learned_policies_test.sh checks the learned kill rule on its own.)
      EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
      continue;
    }
    EXPECT_TRUE(KilledBySeccomp(r, name));
  }
}

}  // namespace
}  // namespace integ
