#include "workload_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace integ {

std::string shipped_policy(const std::string& name) { return std::string(CONFINE_SOURCE_DIR) + "/policies/" + name; }

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
  std::filesystem::create_directories(plain_);
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

bool WorkloadTest::resources_enforced() {
  if (const char* best_effort = std::getenv("CONFINE_INTEG_BEST_EFFORT"); best_effort != nullptr && std::string(best_effort) == "1") {
    return false;
  }
  return cgroup_controller_available("memory") && cgroup_controller_available("pids");
}

RunResult WorkloadTest::run_workload(const std::string& policy, const std::vector<std::string>& argv,
                                     RunOptions options) {
  std::vector<std::string> args{"-p", shipped_policy(policy), "--cwd", job_};
  if (!resources_enforced()) args.push_back("--best-effort");
  if (!tmp_.empty()) args.insert(args.end(), {"--rw", tmp_, "--env", "TMPDIR=" + tmp_, "--env", "HOME=" + tmp_});
  options.args.insert(options.args.begin(), args.begin(), args.end());
  return run_command(argv, options);
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

namespace {

bool file_contains(const std::filesystem::path& path, const std::string& needle) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return data.find(needle) != std::string::npos;
}

}  // namespace

::testing::AssertionResult WorkloadTest::NoCanaryLeak(const RunResult& r) const {
  if (r.out.find(canary_text_) != std::string::npos) return ::testing::AssertionFailure() << "canary in stdout\n" << r.describe();
  if (r.err.find(canary_text_) != std::string::npos) return ::testing::AssertionFailure() << "canary in stderr\n" << r.describe();
  if (r.report_text.find(canary_text_) != std::string::npos) return ::testing::AssertionFailure() << "canary in the report\n" << r.describe();
  for (const std::string& dir : {job_, tmp_}) {
    if (dir.empty()) continue;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && file_contains(it->path(), canary_text_)) {
        return ::testing::AssertionFailure() << "canary in job file " << it->path() << "\n" << r.describe();
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
  // The base dir holds only the fixture's own entries and confine's reports.
  const std::set<std::string> expected{"job", "secret", "outside", "plain", "tmp"};
  for (const auto& entry : std::filesystem::directory_iterator(base_)) {
    const std::string name = entry.path().filename().string();
    if (expected.count(name) == 0 && name.rfind("report-", 0) != 0) {
      return ::testing::AssertionFailure() << "unexpected " << entry.path() << " beside the job dir";
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(base_ + "/secret")) {
    if (entry.path().filename() != "canary.txt") return ::testing::AssertionFailure() << "unexpected " << entry.path();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace integ
