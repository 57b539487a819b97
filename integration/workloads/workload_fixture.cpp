#include "workload_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

namespace integ {

std::string shipped_policy(const std::string& name) {
  // integration/workloads/learned_policies_test.sh: the workload tests under policies that `confine learn` wrote
  // (CONFINE_WORKLOAD_POLICY_DIR holds one per shipped name). Never set in a normal test run.
  if (const char* dir = std::getenv("CONFINE_WORKLOAD_POLICY_DIR"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/" + name;
  }
  return std::string(CONFINE_SOURCE_DIR) + "/policies/" + name;
}

LoopbackListener::LoopbackListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) < 0 || ::listen(fd_, 16) < 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    throw std::runtime_error(std::string("listener: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { serve(); });
}

LoopbackListener::~LoopbackListener() {
  const uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
  ::close(stop_fd_);
}

std::string LoopbackListener::url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/confine-canary"; }

void LoopbackListener::serve() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) != 0) {
      const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        ++connections_;
        ::close(conn);
      }
    }
  }
}

std::string ToolResult::describe() const {
  std::ostringstream s;
  s << "exit=" << exit_code << "\n--- stdout ---\n" << out << "\n--- stderr ---\n" << err << "\n";
  return s.str();
}

void WorkloadTest::SetUp() {
  SandboxTest::SetUp();
  if (HasFatalFailure()) return;
  const std::filesystem::path outside = base_ + "/outside";
  std::filesystem::create_directories(outside);
  outside_ = (outside / "pwned.txt").string();
  plain_ = base_ + "/plain";
  plain_out_ = plain_ + "/out";
  std::filesystem::create_directories(plain_out_);
  if (!isolation_override().empty()) {
    tmp_ = base_ + "/tmp";
    std::filesystem::create_directories(tmp_);
    ::chmod(tmp_.c_str(), 0777);  // the job's host uid writes there
  }
}

bool WorkloadTest::have_tool(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

bool WorkloadTest::learned_policies() {
  const char* dir = std::getenv("CONFINE_WORKLOAD_POLICY_DIR");
  return dir != nullptr && *dir != '\0';
}

bool WorkloadTest::resources_enforced() {
  if (const char* best_effort = std::getenv("CONFINE_INTEG_BEST_EFFORT"); best_effort != nullptr && std::string(best_effort) == "1") {
    return false;
  }
  return cgroup_controller_available("memory") && cgroup_controller_available("pids");
}

namespace {

bool file_contains(const std::filesystem::path& path, const std::string& needle) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return data.find(needle) != std::string::npos;
}

// One line per entry under `root` (not following symlinks), sorted by name: its type, mode,
// owner, size, modification time and a hash of its contents (or of a symlink's target).
std::string describe_tree(const std::string& root) {
  namespace fs = std::filesystem;
  std::set<std::string> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    std::string content;
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(it->path(), std::ios::binary);
      content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else if (S_ISLNK(st.st_mode)) {
      content = fs::read_symlink(it->path(), ec).string();
    }
    std::ostringstream line;
    line << fs::relative(it->path(), root).string() << " mode=" << std::oct << st.st_mode << std::dec << " uid=" << st.st_uid
         << " size=" << st.st_size << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec
         << " hash=" << std::hash<std::string>{}(content);
    entries.insert(line.str());
  }
  std::string out;
  for (const std::string& entry : entries) out += entry + "\n";
  return out;
}

}  // namespace

RunResult WorkloadTest::run_workload(const std::string& policy, const std::vector<std::string>& argv,
                                     RunOptions options) {
  out_ = base_ + "/out-" + std::to_string(++outputs_);
  std::string policy_file = policy.find('/') != std::string::npos ? policy : shipped_policy(policy);
  // Tracing for scripts/derive-allowlist.sh (never set in a normal test run): the script puts a
  // policy that allows no syscall beside each shipped one in CONFINE_WORKLOAD_AUDIT_DIR, every run
  // uses it with --audit (nothing is refused, every syscall the filter would deny is listed), and
  // each report is kept there for the script to take the union of audit.syscalls.
  const char* audit_dir = std::getenv("CONFINE_WORKLOAD_AUDIT_DIR");
  std::vector<std::string> audit_args;
  if (audit_dir != nullptr && *audit_dir != '\0') {
    const std::string traced = std::string(audit_dir) + "/" + std::filesystem::path(policy_file).filename().string();
    if (std::filesystem::exists(traced)) policy_file = traced;
    audit_args = {"--audit"};
  }
  // Learning for integration/workloads/learned_policies_test.sh (never set in a normal test run): the honest
  // tests run their jobs under `confine learn` instead, in the same shape (the job dir read-only
  // as the working directory, the output area delivered to out_), each run merged into
  // CONFINE_WORKLOAD_LEARN_DIR/<policy's file name>. The job runs for real, so the test's own
  // assertions still judge its results.
  if (const char* learn_dir = std::getenv("CONFINE_WORKLOAD_LEARN_DIR"); learn_dir != nullptr && *learn_dir != '\0') {
    return learn_workload(std::string(learn_dir) + "/" + std::filesystem::path(policy_file).filename().string(), argv,
                          options);
  }
  std::vector<std::string> args{"-p", policy_file, "--ro", job_, "--cwd", job_};
  // Landlock mode mounts nothing, so it has no output area (a tmpfs): its runs get none.
  if (isolation_override().empty()) args.insert(args.end(), {"--output", out_});
  args.insert(args.end(), audit_args.begin(), audit_args.end());
  if (!resources_enforced()) args.push_back("--best-effort");
  if (!tmp_.empty()) args.insert(args.end(), {"--rw", tmp_, "--env", "TMPDIR=" + tmp_, "--env", "HOME=" + tmp_});
  options.args.insert(options.args.begin(), args.begin(), args.end());
  options.bind_job = false;  // read-only above, not the fixture's read-write bind
  input_before_ = describe_tree(job_);
  RunResult r = run_command(argv, options);
  if (!audit_args.empty()) {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    write_text(std::string(audit_dir) + "/" + test->test_suite_name() + "." + test->name() + "-" +
                   std::to_string(outputs_) + ".report.json",
               r.report_text, 0644);
  }
  return r;
}

RunResult WorkloadTest::learn_workload(const std::string& learned, const std::vector<std::string>& argv,
                                       const RunOptions& options) {
  // Only the honest tests learn, and they pass no options of their own; a run that does would be
  // learned in a different shape than it is tested, so it fails here instead.
  EXPECT_TRUE(options.args.empty() && options.env.empty() && options.wrapper.empty() && isolation_override().empty())
      << "CONFINE_WORKLOAD_LEARN_DIR: this run passes options learn does not take (learn honest tests only)";
  const std::string report = base_ + "/report-learn-" + std::to_string(outputs_) + ".json";
  Invocation inv;
  inv.argv = {confine_binary(), "learn", "--out", learned};
  if (std::filesystem::exists(learned)) inv.argv.insert(inv.argv.end(), {"--merge", learned});
  inv.argv.insert(inv.argv.end(), {"--ro", job_, "--cwd", job_, "--output", out_, "--report", report, "--"});
  inv.argv.insert(inv.argv.end(), argv.begin(), argv.end());
  inv.extra_env = {"CONFINE_INTEG_TAG=" + tag_};
  // Every notified call is a round trip to confine: learning is slower than a run.
  inv.deadline = std::max(options.deadline, std::chrono::milliseconds(300000));
  input_before_ = describe_tree(job_);
  return integ::start(inv, report).wait();
}

void WorkloadTest::take_delivered(const std::string& name) {
  std::filesystem::copy_file(out_path(name), job_path(name), std::filesystem::copy_options::overwrite_existing);
}

void WorkloadTest::take_plain_output(const std::string& name) {
  std::filesystem::copy_file(plain_out_path(name), plain_path(name), std::filesystem::copy_options::overwrite_existing);
}

std::string WorkloadTest::policy_with_output_files(const std::string& policy, int files) {
  const std::string path = plain_path(policy + "-" + std::to_string(files) + "-files.toml");
  write_text(path, "version = 1\nextends = [\"" + shipped_policy(policy) + "\"]\n[filesystem]\noutput = { files = " +
                       std::to_string(files) + " }\n");
  return path;
}

std::string WorkloadTest::make_writable_dir(const std::string& name) {
  const std::string dir = base_ + "/" + name;
  std::filesystem::create_directory(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::all);  // the sandbox's host uid writes here
  writable_.insert(name);
  return dir;
}

ToolResult WorkloadTest::run_unsandboxed(const std::vector<std::string>& argv) {
  Invocation inv;
  inv.argv = {"/usr/bin/env", "--chdir", plain_, "--"};
  inv.argv.insert(inv.argv.end(), argv.begin(), argv.end());
  inv.deadline = std::chrono::milliseconds(120000);
  RunResult r = integ::start(inv, "").wait();
  return ToolResult{r.exit_code, std::move(r.out), std::move(r.err)};
}

void WorkloadTest::copy_to_plain(const std::string& name) {
  std::filesystem::copy_file(job_path(name), plain_path(name), std::filesystem::copy_options::overwrite_existing);
}

::testing::AssertionResult WorkloadTest::Delivered(const RunResult& r, const std::set<std::string>& names) const {
  namespace fs = std::filesystem;
  auto failure = [&](const std::string& why) {
    std::string expected;
    for (const std::string& name : names) expected += " " + name;
    return ::testing::AssertionFailure() << why << " (expected delivered:" << expected << ")\n" << r.describe();
  };
  if (!r.report || !(*r.report)["output_area"].is_object()) return failure("the report has no output_area");
  const auto& area = (*r.report)["output_area"];
  if (area["host"] != out_) return failure("the report's output_area is not the last run's " + out_);
  std::set<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(out_, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) return failure("cannot stat " + it->path().string());
    const std::string name = fs::relative(it->path(), out_).string();
    if (S_ISREG(st.st_mode)) {
      if ((st.st_mode & 07777) != 0644) return failure(name + " was delivered with a mode other than 0644");
      found.insert(name);
    } else if (!S_ISDIR(st.st_mode) || (st.st_mode & 07777) != 0755) {
      return failure(name + " was delivered and is neither a 0644 file nor a 0755 directory");
    }
  }
  if (ec) return failure("cannot list " + out_ + ": " + ec.message());
  if (found != names) {
    std::string listing;
    for (const std::string& name : found) listing += " " + name;
    return failure(out_ + " holds:" + listing);
  }
  std::set<std::string> copied;
  for (const auto& item : area["copied"]) copied.insert(item["name"].get<std::string>());
  if (copied != names || area["files_copied"] != names.size()) return failure("the report's output_area.copied differs");
  if (!area["refused"].empty()) return failure("the report's output_area refused something");
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WorkloadTest::NoCanaryLeak(const RunResult& r) const {
  if (r.out.find(canary_text_) != std::string::npos) return ::testing::AssertionFailure() << "canary in stdout\n" << r.describe();
  if (r.err.find(canary_text_) != std::string::npos) return ::testing::AssertionFailure() << "canary in stderr\n" << r.describe();
  if (r.report_text.find(canary_text_) != std::string::npos) return ::testing::AssertionFailure() << "canary in the report\n" << r.describe();
  std::vector<std::string> dirs{job_};
  if (!tmp_.empty()) dirs.push_back(tmp_);
  for (const auto& entry : std::filesystem::directory_iterator(base_)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("out-", 0) == 0 || writable_.count(name) != 0) dirs.push_back(entry.path().string());
  }
  for (const std::string& dir : dirs) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file() && file_contains(it->path(), canary_text_)) {
        return ::testing::AssertionFailure() << "canary in " << it->path() << "\n" << r.describe();
      }
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WorkloadTest::NothingWrittenOutside() const {
  if (std::filesystem::exists(outside_)) return ::testing::AssertionFailure() << outside_ << " was written";
  if (!std::filesystem::is_empty(std::filesystem::path(outside_).parent_path())) {
    return ::testing::AssertionFailure() << base_ << "/outside is not empty";
  }
  // The base dir holds only the fixture's own entries, confine's reports and output dirs, and
  // the dirs the test made writable.
  const std::set<std::string> expected{"job", "secret", "outside", "plain", "tmp"};
  for (const auto& entry : std::filesystem::directory_iterator(base_)) {
    const std::string name = entry.path().filename().string();
    if (expected.count(name) == 0 && writable_.count(name) == 0 && name.rfind("report-", 0) != 0 &&
        name.rfind("out-", 0) != 0) {
      return ::testing::AssertionFailure() << "unexpected " << entry.path() << " beside the job dir";
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(base_ + "/secret")) {
    if (entry.path().filename() != "canary.txt") return ::testing::AssertionFailure() << "unexpected " << entry.path();
  }
  if (const std::string now = describe_tree(job_); outputs_ > 0 && now != input_before_) {
    return ::testing::AssertionFailure() << "the job dir (the job's read-only input) changed in the last run\nbefore:\n"
                                         << input_before_ << "after:\n" << now;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace integ
