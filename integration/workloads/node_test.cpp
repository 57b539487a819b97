// policies/node.toml with Debian's node (the nodejs package): an honest ES module compared with
// the same module run without confine, then scripts that read the canary, connect to the host,
// write anywhere but the output area, run a shell, start processes without end, allocate or spin
// without end, reach for the host's global npm packages, and turn on io_uring, which the policy
// kills. The module and its data are the job's read-only input; it writes its results to /out,
// which confine delivers (workload_fixture.h).
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "workload_fixture.h"

namespace integ {
namespace {

const char* const kNode = "/usr/bin/node";

// Reads a JSON file, aggregates it with node's built-ins (fs/promises, zlib, crypto, a child
// process, timers) and writes a JSON report into the directory it is given (the output area).
// Everything it prints is deterministic.
const char* const kHonestScript = R"JS(
import { readFile, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';

const rows = JSON.parse(await readFile('data.json', 'utf8'));
const values = rows.map((r) => r.value);
const squares = await Promise.all(values.map(async (v) => { await sleep(1); return v * v; }));
// Another program: allowed, and it runs in the same sandbox.
const sorted = execFileSync('/usr/bin/sort', { input: rows.map((r) => r.name).join('\n') + '\n' })
  .toString().trim().split('\n');
const packed = gzipSync(JSON.stringify(rows));
const report = {
  count: values.length,
  total: values.reduce((a, b) => a + b, 0),
  squares,
  sorted_names: sorted,
  roundtrip: JSON.parse(gunzipSync(packed).toString()).length,
  sha256: createHash('sha256').update(JSON.stringify(rows)).digest('hex'),
};
await writeFile(process.argv[2] + '/report.json', JSON.stringify(report, null, 1));
console.log('rows', rows.length);
)JS";

const char* const kData =
    R"([{"name":"charlie","value":3.5},{"name":"alpha","value":1.25},{"name":"bravo","value":10},{"name":"delta","value":-2}])";

class NodeWorkload : public WorkloadTest {
 protected:
  void SetUp() override {
    WorkloadTest::SetUp();
    if (HasFatalFailure()) return;
    CONFINE_REQUIRE(have_tool(kNode), "needs /usr/bin/node (Debian package nodejs)");
  }

  // Writes the module into the job dir and runs `node script.mjs ARGS` under the policy.
  RunResult run_script(const std::string& script, const std::vector<std::string>& args = {}, RunOptions options = {}) {
    write_text(job_path("script.mjs"), script);
    std::vector<std::string> argv{kNode, "script.mjs"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_workload("node.toml", argv, std::move(options));
  }

  // The same module without confine (after run_script wrote it).
  ToolResult run_script_unsandboxed(const std::vector<std::string>& args = {}) {
    copy_to_plain("script.mjs");
    std::vector<std::string> argv{kNode, "script.mjs"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_unsandboxed(argv);
  }
};

TEST_F(NodeWorkload, ModuleWithBuiltinsRunsLikeUnsandboxed) {
  write_text(job_path("data.json"), kData);
  const RunResult r = run_script(kHonestScript, {kOutArea});
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_EQ(r.out, "rows 4\n");
  // Nothing but the report is delivered, and the input is untouched.
  EXPECT_TRUE(Delivered(r, {"report.json"}));
  EXPECT_TRUE(NothingWrittenOutside());
  const auto report = read_text(out_path("report.json"));
  ASSERT_TRUE(report.has_value());
  EXPECT_NE(report->find("\"sorted_names\": [\n  \"alpha\","), std::string::npos) << *report;

  copy_to_plain("data.json");
  const ToolResult plain = run_script_unsandboxed({plain_out_});
  ASSERT_EQ(plain.exit_code, 0) << plain.describe();
  EXPECT_EQ(report, read_text(plain_out_path("report.json")));
}

// npm and corepack, installed globally on the host under /usr/lib/node_modules, are masked.
TEST_F(NodeWorkload, GlobalPackagesAreNotVisible) {
  const char* const script =
      "import { createRequire } from 'node:module';\n"
      "const require = createRequire(import.meta.url);\n"
      "console.log('version', require('/usr/lib/node_modules/npm/package.json').version);\n";
  CONFINE_REQUIRE(std::filesystem::exists("/usr/lib/node_modules/npm/package.json"),
                  "needs npm installed globally on the host (/usr/lib/node_modules/npm) to show the difference");
  const RunResult r = run_script(script);
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  EXPECT_NE(r.err.find("Cannot find module '/usr/lib/node_modules/npm/package.json'"), std::string::npos) << r.describe();
  const ToolResult plain = run_script_unsandboxed();
  EXPECT_EQ(plain.out.rfind("version ", 0), 0U) << plain.describe();
}

TEST_F(NodeWorkload, CannotReadTheCanary) {
  const char* const script =
      "import fs from 'node:fs';\n"
      "const text = fs.readFileSync(process.argv[2], 'utf8');\n"
      "console.log(text);\n"
      "fs.writeFileSync(process.argv[3] + '/stolen.txt', text);\n";
  const RunResult r = run_script(script, {canary_, kOutArea});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
  EXPECT_NE(r.err.find("ENOENT"), std::string::npos) << r.describe();
  EXPECT_TRUE(NoCanaryLeak(r));
  EXPECT_TRUE(Delivered(r, {}));

  const ToolResult plain = run_script_unsandboxed({canary_, plain_out_});
  EXPECT_NE(plain.out.find(canary_text_), std::string::npos) << "the unsandboxed run should have read it\n" << plain.describe();
  EXPECT_NE(read_text(plain_out_path("stolen.txt")).value_or("").find(canary_text_), std::string::npos)
      << "the unsandboxed run should have written it out";
}

TEST_F(NodeWorkload, CannotConnectToTheHost) {
  LoopbackListener listener;
  const char* const script =
      "import net from 'node:net';\n"
      "const s = net.connect(Number(process.argv[2]), '127.0.0.1');\n"
      "s.on('connect', () => { console.log('connected'); s.end(); });\n"
      "s.on('error', (e) => { console.log(e.code); process.exitCode = 2; });\n";
  const RunResult r = run_script(script, {std::to_string(listener.port())});
  EXPECT_TRUE(Ended(r, "exit_nonzero", 2));
  // The policy's errno rule: socket() fails with EACCES before any address is tried.
  EXPECT_EQ(r.out, "EACCES\n") << r.describe();
  EXPECT_EQ(listener.connections(), 0);

  const ToolResult plain = run_script_unsandboxed({std::to_string(listener.port())});
  EXPECT_EQ(plain.out, "connected\n") << plain.describe();
  for (int i = 0; i < 100 && listener.connections() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(listener.connections(), 1);
}

// Writes aimed outside the job dir, into the job's own read-only input, and into node's own tree
// (a planted module under /usr would be loaded by later scripts). Each attempt prints its errno
// code. Only the private /tmp and the output area take writes, and only the output area's file
// is delivered.
TEST_F(NodeWorkload, CannotWriteOutsideTheOutputArea) {
  const char* const script =
      "import fs from 'node:fs';\n"
      "for (const path of process.argv.slice(2)) {\n"
      "  try { fs.writeFileSync(path, 'pwned\\n'); console.log(path, 'written'); }\n"
      "  catch (e) { console.log(path, e.code); }\n"
      "}\n";
  const RunResult r = run_script(script, {outside_, "/usr/lib/node_modules/evil.js", "/usr/lib/evil.js", "/tmp/private.txt",
                                          "script.mjs", job_path("new.txt"), "/out/result.txt"});
  ASSERT_TRUE(Ended(r, "ok", 0));
  const std::vector<std::string> out = lines(r.out);
  ASSERT_EQ(out.size(), 7U) << r.describe();
  EXPECT_EQ(out[0], outside_ + " ENOENT");  // the outside dir does not exist in the sandbox
  // The masked global node_modules is an empty, read-only stand-in: EACCES or EROFS.
  EXPECT_TRUE(out[1] == "/usr/lib/node_modules/evil.js EACCES" || out[1] == "/usr/lib/node_modules/evil.js EROFS" ||
              (learned_policies() && out[1] == "/usr/lib/node_modules/evil.js ENOENT"))  // not there at all
      << out[1];
  EXPECT_EQ(out[2], "/usr/lib/evil.js EROFS");
  EXPECT_EQ(out[3], "/tmp/private.txt written");  // the private tmpfs, gone with the sandbox
  // The input dir, by a relative and by its absolute name: read-only.
  EXPECT_EQ(out[4], "script.mjs EROFS");
  EXPECT_EQ(out[5], job_path("new.txt") + " EROFS");
  EXPECT_EQ(out[6], "/out/result.txt written");
  EXPECT_FALSE(std::filesystem::exists("/usr/lib/node_modules/evil.js"));
  EXPECT_FALSE(std::filesystem::exists("/usr/lib/evil.js"));
  EXPECT_TRUE(Delivered(r, {"result.txt"}));
  EXPECT_EQ(read_text(out_path("result.txt")), "pwned\n");
  EXPECT_TRUE(NothingWrittenOutside());

  // Without confine the write outside lands (only that one: the others would change the host).
  const ToolResult plain = run_script_unsandboxed({outside_});
  EXPECT_EQ(plain.out, outside_ + " written\n") << plain.describe();
  EXPECT_EQ(read_text(outside_), "pwned\n");
  ::unlink(outside_.c_str());
  EXPECT_TRUE(NothingWrittenOutside());
}

// The shell is masked: child_process.exec fails and nothing runs. Other programs do run, but in
// the same sandbox: cat cannot see the canary either.
TEST_F(NodeWorkload, ShellIsMaskedAndOtherProgramsStayConfined) {
  const char* const script =
      "import { execSync, spawnSync } from 'node:child_process';\n"
      "try { execSync('cat ' + process.argv[2], { stdio: 'pipe' }); console.log('exec ran'); }\n"
      "catch (e) { console.log('exec', e.code ?? e.status); }\n"
      "const r = spawnSync('/usr/bin/cat', [process.argv[2]], { encoding: 'utf8' });\n"
      "console.log('cat', r.error ? r.error.code : r.status, (r.stdout ?? '').trim());\n";
  const RunResult r = run_script(script, {canary_});
  ASSERT_TRUE(Ended(r, "ok", 0));
  if (learned_policies()) {
    // A policy learned from a module that ran no program has neither the shell nor cat.
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"exec ENOENT", "cat ENOENT "})) << r.describe();
  } else {
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{"exec EACCES", "cat 1 "})) << r.describe();
  }
  EXPECT_TRUE(NoCanaryLeak(r));

  const ToolResult plain = run_script_unsandboxed({canary_});
  EXPECT_EQ(lines(plain.out), (std::vector<std::string>{"exec ran", "cat 0 " + canary_text_})) << plain.describe();
}

// Processes without end meet the pids limit (pids.max, or RLIMIT_NPROC per user namespace where
// the controller is missing): spawn fails with EAGAIN and the script gives up. Its children,
// still sleeping, die with the sandbox's pid namespace.
TEST_F(NodeWorkload, SpawnStormStopsAtThePidsLimit) {
  const char* const script =
      "import { spawn } from 'node:child_process';\n"
      "const children = [];\n"
      "function next() {\n"
      "  if (children.length >= 1000) { console.log('spawned', children.length); process.exit(0); }\n"
      "  // argv[0] carries the test's tag, so survivors can be found.\n"
      "  const c = spawn('/usr/bin/sleep', ['60'], { argv0: process.argv[2], stdio: 'ignore' });\n"
      "  c.once('spawn', () => { children.push(c); next(); });\n"
      "  c.once('error', (e) => { console.log('refused after', children.length, e.code); process.exit(3); });\n"
      "}\n"
      "next();\n";
  const RunResult r = run_script(script, {"--marker=" + tag_});
  ASSERT_TRUE(Ended(r, "exit_nonzero", 3));
  ASSERT_TRUE(r.report.has_value());
  bool listed = false;
  for (const auto& entry : (*r.report)["enforced"]) {
    if (entry["name"] == "pids_limit") {
      listed = true;
      EXPECT_EQ(entry["status"], resources_enforced() ? "enforced" : "enforced_fallback") << r.describe();
    }
  }
  EXPECT_TRUE(listed) << "the report does not list pids_limit\n" << r.describe();
  const std::vector<std::string> out = lines(r.out);
  ASSERT_EQ(out.size(), 1U) << r.describe();
  if (learned_policies()) {
    // A policy learned from a module that ran no program has no /usr/bin/sleep: the storm ends at
    // its first spawn.
    EXPECT_EQ(out[0], "refused after 0 ENOENT") << r.describe();
    return;
  }
  EXPECT_EQ(out[0].rfind("refused after ", 0), 0U) << r.describe();
  EXPECT_NE(out[0].find(" EAGAIN"), std::string::npos) << r.describe();
  // policies/node.toml: pids = 32, counting node itself and its threads.
  const int spawned = std::stoi(out[0].substr(std::string("refused after ").size()));
  EXPECT_GT(spawned, 0) << r.describe();
  EXPECT_LT(spawned, 32) << r.describe();
  EXPECT_TRUE(wait_until_gone("--marker=" + tag_, std::chrono::seconds(5)).empty());
}

// Allocation without end: an OOM kill where the cgroup memory controller exists; under the
// RLIMIT_AS fallback the allocation fails inside node, which throws a RangeError.
TEST_F(NodeWorkload, MemoryHogMeetsTheMemoryLimit) {
  const char* const script = "const chunks = [];\nfor (;;) chunks.push(Buffer.alloc(16 << 20, 1));\n";
  const RunResult r = run_script(script);
  if (resources_enforced()) {
    EXPECT_TRUE(Ended(r, "oom", 137));
  } else {
    EXPECT_TRUE(Ended(r, "exit_nonzero", 1));
    EXPECT_NE(r.err.find("RangeError: Array buffer allocation failed"), std::string::npos) << r.describe();
  }
}

TEST_F(NodeWorkload, BusyLoopEndsAtTheCpuTimeLimit) {
  const RunResult r = run_script("for (;;) {}\n", {}, with_args({"--cpu-time", "2s", "--timeout", "20s"}));
  EXPECT_TRUE(EndedByLimit(r, "cpu_timeout", 124, "cpu_time"));
}

// The policy pins libuv's io_uring backend off. A script that turns it back on for a child
// process meets the filter: io_uring_setup is in @default-deny, and the whole job ends.
TEST_F(NodeWorkload, IoUringTurnedBackOnEndsTheJob) {
  const char* const script =
      "import { spawnSync } from 'node:child_process';\n"
      "const child = `require('fs').readFile('/etc/ld.so.cache', () => console.log('read'))`;\n"
      "const r = spawnSync(process.execPath, ['-e', child],\n"
      "                    { env: { ...process.env, UV_USE_IO_URING: '1' }, encoding: 'utf8' });\n"
      "console.log('child ended', r.status, r.signal, r.stdout.trim());\n";
  const RunResult r = run_script(script);
  EXPECT_TRUE(KilledBySeccomp(r, "io_uring_setup"));
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace integ
