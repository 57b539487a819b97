// A fake host for plan tests: an in-memory file tree (path -> kind, link text, exec bit) behind
// HostFacts' filesystem probes, plus a Debian-12-like tree and a default-like policy built in C++
// (so plan tests never depend on the TOML loader).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "confine/plan.h"
#include "confine/policy.h"

namespace confine::plan::testing {

class FakeTree {
 public:
  struct Node {
    FileKind kind = FileKind::kDirectory;
    std::string link;     // kSymlink
    bool exec = false;    // kRegular
  };

  FakeTree& dir(const std::string& path) { return put(path, {FileKind::kDirectory, {}, false}); }
  FakeTree& file(const std::string& path, bool exec = false) {
    return put(path, {FileKind::kRegular, {}, exec});
  }
  FakeTree& program(const std::string& path) { return file(path, true); }
  FakeTree& link(const std::string& path, const std::string& text) {
    return put(path, {FileKind::kSymlink, text, false});
  }
  FakeTree& chardev(const std::string& path) { return put(path, {FileKind::kCharDevice, {}, false}); }
  FakeTree& other(const std::string& path) { return put(path, {FileKind::kOther, {}, false}); }
  FakeTree& remove(const std::string& path) {
    nodes_.erase(path);
    return *this;
  }

  // lstat-like: a missing path, or one below a non-directory, is kMissing. Intermediate
  // symlinks are followed, as the kernel's lstat does.
  [[nodiscard]] FileKind kind(const std::string& path) const {
    const Node* node = lookup(path, /*follow_last=*/false);
    return node == nullptr ? FileKind::kMissing : node->kind;
  }
  [[nodiscard]] std::optional<std::string> readlink(const std::string& path) const {
    const Node* node = lookup(path, false);
    if (node == nullptr || node->kind != FileKind::kSymlink) return std::nullopt;
    return node->link;
  }
  [[nodiscard]] bool executable(const std::string& path) const {
    const Node* node = lookup(path, /*follow_last=*/true);
    return node != nullptr && node->kind == FileKind::kRegular && node->exec;
  }

 private:
  FakeTree& put(const std::string& path, Node node) {
    // Parents exist as directories unless already defined otherwise.
    for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      nodes_.try_emplace(path.substr(0, slash), Node{});
    }
    nodes_[path] = std::move(node);
    return *this;
  }

  // Resolves `path` component by component, following symlinks (at most 40, like the kernel).
  [[nodiscard]] const Node* lookup(const std::string& path, bool follow_last) const {
    std::vector<std::string> todo;  // components still to walk, reversed
    auto push_path = [&todo](const std::string& p) {
      std::vector<std::string> parts;
      size_t pos = 0;
      while (pos <= p.size()) {
        size_t next = p.find('/', pos);
        if (next == std::string::npos) next = p.size();
        if (next > pos) parts.push_back(p.substr(pos, next - pos));
        pos = next + 1;
      }
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
    };
    push_path(path);
    static const Node kRoot{};
    std::string current;  // "" is the root
    const Node* node = &kRoot;
    int hops = 0;
    while (!todo.empty()) {
      const std::string part = todo.back();
      todo.pop_back();
      if (node->kind != FileKind::kDirectory) return nullptr;
      if (part == ".") continue;
      if (part == "..") {
        current = current.substr(0, current.rfind('/'));
        node = current.empty() ? &kRoot : &nodes_.at(current);
        continue;
      }
      const std::string next = current + "/" + part;
      auto it = nodes_.find(next);
      if (it == nodes_.end()) return nullptr;
      if (it->second.kind == FileKind::kSymlink && (follow_last || !todo.empty())) {
        if (++hops > 40) return nullptr;
        const std::string& text = it->second.link;
        if (!text.empty() && text.front() == '/') {
          current.clear();
          node = &kRoot;
        }
        push_path(text);
        continue;
      }
      current = next;
      node = &it->second;
    }
    return node;
  }

  std::map<std::string, Node> nodes_;
};

// A Debian-12-like tree: merged /usr, a few programs, some things a sandbox must not see.
inline std::shared_ptr<FakeTree> debian_tree() {
  auto tree = std::make_shared<FakeTree>();
  tree->dir("/usr/local/bin")
      .program("/usr/bin/sh")
      .program("/usr/bin/echo")
      .program("/usr/bin/env")
      .program("/usr/bin/python3")
      .file("/usr/bin/README")  // not executable
      .dir("/usr/sbin")
      .dir("/usr/lib/x86_64-linux-gnu")
      .dir("/usr/lib64")
      .dir("/usr/share/doc")
      .dir("/usr/share/secrets")
      .file("/usr/share/secrets/key.pem")
      .link("/bin", "usr/bin")
      .link("/sbin", "usr/sbin")
      .link("/lib", "usr/lib")
      .link("/lib64", "usr/lib64")
      .file("/etc/ld.so.cache")
      .file("/etc/passwd")
      .dir("/etc/alternatives")
      .file("/usr/share/zoneinfo/Etc/UTC")
      .link("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC")
      .dir("/tmp")
      .chardev("/dev/null")
      .dir("/proc/sys")
      .dir("/run")
      .other("/run/docker.sock")
      .link("/var/run", "/run")
      .dir("/jobs/42/out")
      .program("/jobs/42/run.sh")
      .program("/home/alice/bin/tool");
  return tree;
}

enum class Caller { kRoot, kUser };

inline HostFacts fake_host(std::shared_ptr<FakeTree> tree, Caller caller) {
  HostFacts host;
  host.euid = caller == Caller::kRoot ? 0 : 1000;
  host.egid = caller == Caller::kRoot ? 0 : 1000;
  host.kernel_release = "6.1.0-test";
  host.cgroup2_mount = "/sys/fs/cgroup";
  host.cgroup_parent = caller == Caller::kRoot ? "/sys/fs/cgroup/confine"
                                               : "/sys/fs/cgroup/user.slice/user-1000.slice/app.slice";
  host.cgroup_controllers = {"cpu", "io", "memory", "pids"};
  // /proc/sys/user of a 6.1 kernel.
  host.user_sysctls = {"max_cgroup_namespaces", "max_fanotify_groups", "max_fanotify_marks",
                       "max_inotify_instances", "max_inotify_watches", "max_ipc_namespaces",
                       "max_mnt_namespaces",    "max_net_namespaces",  "max_pid_namespaces",
                       "max_time_namespaces",   "max_user_namespaces", "max_uts_namespaces"};
  host.landlock_abi = 7;  // Linux 6.15 and later (the development machine runs 6.18)
  host.file_kind = [tree](const std::string& p) { return tree->kind(p); };
  host.read_link = [tree](const std::string& p) { return tree->readlink(p); };
  host.executable = [tree](const std::string& p) { return tree->executable(p); };
  return host;
}

inline policy::Origin at(uint32_t line, uint32_t column = 1) { return {"test.toml", line, column}; }

template <class T>
policy::Sourced<T> from_file(T value, uint32_t line) {
  return {std::move(value), at(line, 1)};
}

inline policy::PathRule rule(std::string path, uint32_t line, bool optional = false) {
  return {std::move(path), optional, at(line, 3)};
}

// Mirrors policies/default.toml, written in C++.
inline policy::Policy default_like_policy() {
  using namespace std::chrono_literals;
  policy::Policy p;
  p.files = {"test.toml"};
  p.process.uid = from_file<uint32_t>(1000, 10);
  p.process.gid = from_file<uint32_t>(1000, 11);
  p.process.hostname = from_file<std::string>("sandbox", 12);
  p.process.cwd = from_file<std::string>("/", 13);
  auto& fs = p.filesystem;
  fs.ro = {rule("/usr", 20), rule("/bin", 21), rule("/sbin", 22), rule("/lib", 23),
           rule("/lib64", 24, true), rule("/lib32", 25, true), rule("/etc/ld.so.cache", 26),
           rule("/etc/alternatives", 27, true), rule("/etc/localtime", 28, true)};
  fs.tmpfs = {{"/tmp", uint64_t{64} << 20, at(31, 11)}};
  fs.dev = from_file(true, 32);
  fs.proc = from_file(true, 33);
  p.network.mode = from_file(policy::NetworkMode::kNone, 36);
  p.env.keep = {from_file<std::string>("LANG", 40), from_file<std::string>("LC_*", 40),
                from_file<std::string>("TZ", 40)};
  p.env.set = {{"PATH", from_file<std::string>("/usr/local/bin:/usr/bin:/bin", 41)},
               {"HOME", from_file<std::string>("/tmp", 41)},
               {"TMPDIR", from_file<std::string>("/tmp", 41)}};
  auto& limits = p.limits;
  limits.wall_time = from_file<std::optional<policy::Millis>>(60s, 44);
  limits.cpu_time = from_file<std::optional<policy::Millis>>(30s, 45);
  limits.kill_grace = from_file<policy::Millis>(2s, 46);
  limits.memory_bytes = from_file<std::optional<uint64_t>>(uint64_t{512} << 20, 47);
  limits.swap_bytes = from_file<std::optional<uint64_t>>(uint64_t{0}, 48);
  limits.pids = from_file<std::optional<uint64_t>>(uint64_t{64}, 49);
  limits.open_files = from_file<std::optional<uint64_t>>(uint64_t{256}, 50);
  limits.file_size_bytes = from_file<std::optional<uint64_t>>(uint64_t{256} << 20, 51);
  limits.core_dumps = from_file(false, 52);
  p.seccomp.default_action = from_file(policy::SeccompAction::kAllow, 55);
  p.seccomp.rules = {{policy::SeccompAction::kKill, {"@default-deny"}, std::nullopt, at(56)}};
  p.enforcement.resources = from_file(policy::Enforcement::kBestEffort, 62);
  p.enforcement.seccomp = from_file(policy::Enforcement::kRequired, 63);
  return p;
}

inline RunRequest request(std::vector<std::string> argv) {
  return RunRequest{std::move(argv),
                    {"PATH=/home/alice/bin:/usr/bin", "HOME=/home/alice", "LANG=C.UTF-8",
                     "LC_ALL=C", "GITHUB_TOKEN=ghp_x", "LD_PRELOAD=/tmp/evil.so", "TZ=UTC",
                     "TERM=xterm"},
                    "test.toml"};
}

}  // namespace confine::plan::testing
