// write_policy(): observations in, a policy (TOML text) out. Pure: no files, no processes.
//
// What it writes, and why (docs/writing-policies.md):
// - ro: every file the job read, listed, executed or had mapped, and every symlink on the way to
//   one (the plan recreates those inside; a bind through a symlink is refused). Files of one
//   directory become the directory when the job listed it and used two or more of them, or used
//   `collapse_at` or more, and they are at least an eighth of its entries on the host, except
//   that a sensitive directory, or one at the top of the tree (/usr, /etc, /home...), is never
//   the result: the files stay listed and a note says so. A directory only listed is exposed
//   when it is empty.
// - what the sandbox provides itself (/tmp, /dev, /proc) and what --rw gives is not listed.
// - paths the job tried that exist on the host but were hidden from it are comments: learning
//   never adds what its base hid.
// - seccomp: an allow-list of the baseline and every syscall seen, whole groups by their @name;
//   anything else fails with ENOSYS, as on a kernel without it.
// - network: none; socket() limited to the families seen (unix at least).
// - limits from the peaks, with the headroom each comment states.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "confine/learn.h"
#include "confine/seccomp.h"

namespace confine::learn {
namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A comment is one line: no newline may end it early and start TOML.
std::string comment_text(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}


std::string parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

size_t depth(const std::string& path) {
  return path == "/" ? 0 : static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

std::string times(uint64_t n) { return std::to_string(n) + (n == 1 ? " time" : " times"); }

std::string size_text(uint64_t bytes) {
  const uint64_t mib = (bytes + (1U << 20) - 1) >> 20;
  return std::to_string(std::max<uint64_t>(mib, 1)) + "M";
}

std::string seconds_text(uint64_t us) { return std::to_string(std::max<uint64_t>((us + 999'999) / 1'000'000, 1)) + "s"; }

struct Use {
  std::set<Access> accesses;
  uint64_t count = 0;
  std::string by;
};

std::string use_comment(const Use& use) {
  std::string what;
  for (Access a : use.accesses) what += (what.empty() ? "" : "/") + std::string(to_string(a));
  std::string out = what;
  if (!use.by.empty()) out += " by " + use.by;
  return comment_text(out + ", " + times(use.count));
}

}  // namespace

bool under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

bool is_shell(std::string_view view) {
  const std::string path(view);
  const std::string name = path.substr(path.rfind('/') + 1);
  static const std::set<std::string> shells{"sh", "dash", "bash", "zsh", "ksh", "ksh93", "mksh", "ash", "busybox", "fish", "csh", "tcsh"};
  return shells.count(name) != 0;
}

bool sensitive(std::string_view view) {
  const std::string path(view);
  static const std::vector<std::string> exact{"/", "/home", "/root", "/etc", "/run", "/var", "/mnt", "/media", "/srv", "/boot"};
  if (std::find(exact.begin(), exact.end(), path) != exact.end()) return true;
  static const std::vector<std::string> trees{
      "/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/ssh", "/etc/ssl/private",
      "/etc/sudoers", "/etc/sudoers.d", "/etc/krb5.keytab", "/etc/security", "/etc/NetworkManager/system-connections",
      "/etc/wireguard", "/run/secrets", "/var/run/secrets", "/root", "/var/lib/sss", "/etc/credstore",
      "/run/credentials", "/etc/credstore.encrypted"};
  for (const auto& t : trees) {
    if (under(path, t)) return true;
  }
  // A home directory itself, and its credential stores.
  if (path.rfind("/home/", 0) == 0) {
    if (depth(path) == 2) return true;
    for (const char* store : {"/.ssh", "/.gnupg", "/.aws", "/.config/gcloud", "/.kube", "/.docker", "/.netrc",
                              "/.password-store", "/.local/share/keyrings", "/.pki", "/.git-credentials"}) {
      const std::string home = path.substr(0, path.find('/', 6));
      if (under(path, home + store)) return true;
    }
  }
  return false;
}

Written write_policy(const Observations& o, const WriteOptions& options) {
  Written w;
  auto covered = [&](const std::string& path) {
    for (const auto& d : options.provided) {
      if (under(path, d)) return true;
    }
    for (const auto& d : options.rw) {
      if (under(path, d)) return true;
    }
    return false;
  };

  // Files, symlinks and listed directories the job used, by path.
  std::map<std::string, Use> files, links, listed;
  std::map<std::string, Use> hidden;   // exist on the host, not shown to the job
  std::map<std::string, Use> writes;   // written outside --rw and the sandbox's own trees
  uint64_t missing = o.missing_unrecorded;
  for (const PathRecord& r : o.paths) {
    if (covered(r.path)) continue;
    const bool writing = r.access == Access::kWrite || r.access == Access::kCreate;
    Use* use = nullptr;
    if (!r.in_sandbox) {
      if (r.on_host) {
        use = &hidden[r.path];
      } else {
        ++missing;
      }
    } else if (writing) {
      use = &writes[r.path];
    } else if (r.symlink) {
      use = &links[r.path];
    } else if (r.directory) {
      if (r.access == Access::kList) use = &listed[r.path];
    } else {
      use = &files[r.path];
    }
    if (use == nullptr) continue;
    use->accesses.insert(r.access);
    use->count += r.count;
    if (use->by.empty()) use->by = r.by;
  }

  // Collapse: per directory, the files directly in it.
  std::map<std::string, std::vector<std::string>> by_dir;
  for (const auto& [path, use] : files) by_dir[parent(path)].push_back(path);
  std::map<std::string, Use> dirs;  // ro directories
  for (const auto& [dir, members] : by_dir) {
    const bool was_listed = listed.count(dir) != 0;
    if (members.size() < options.collapse_at && !(was_listed && members.size() >= 2)) continue;
    if (sensitive(dir) || depth(dir) < 2) {
      w.notes.push_back("not widened to " + dir + " (" + (sensitive(dir) ? "a sensitive directory" : "the top of the tree") +
                        "): its " + std::to_string(members.size()) + " files are listed one by one");
      continue;
    }
    if (const auto entries = options.directory_entries.find(dir);
        entries != options.directory_entries.end() && members.size() * 8 < entries->second) {
      continue;  // a few files of a big directory: the files, not the directory
    }
    Use& d = dirs[dir];
    for (const auto& f : members) {
      d.count += files[f].count;
      d.accesses.insert(files[f].accesses.begin(), files[f].accesses.end());
      if (d.by.empty()) d.by = files[f].by;
    }
    d.by = comment_text(std::to_string(members.size()) + " files" + (was_listed ? ", listed" : "") + (d.by.empty() ? "" : "; first by " + d.by));
  }
  // Listed directories with nothing used inside: the listing must look the same.
  for (const auto& [dir, use] : listed) {
    if (by_dir.count(dir) != 0 || dirs.count(dir) != 0) continue;
    bool ancestor = false;  // a directory on the way to something used: it exists anyway
    for (const auto& [f, u] : files) ancestor = ancestor || under(f, dir);
    if (ancestor) continue;
    if (const auto entries = options.directory_entries.find(dir);
        entries != options.directory_entries.end() && entries->second != 0) {
      w.notes.push_back("not exposed: " + dir + " was listed, but nothing in it was used (" +
                        std::to_string(entries->second) + " entries); add it if the job needs to see them");
      continue;
    }
    if (sensitive(dir) || depth(dir) < 2) {
      w.notes.push_back("not exposed: " + dir + " was listed but is " + (sensitive(dir) ? "sensitive" : "the top of the tree"));
      continue;
    }
    dirs[dir] = use;
  }
  // Directories inside other directories: the outer one is enough.
  for (auto it = dirs.begin(); it != dirs.end();) {
    bool inner = false;
    for (const auto& [other, u] : dirs) inner = inner || (other != it->first && under(it->first, other));
    it = inner ? dirs.erase(it) : std::next(it);
  }

  struct Entry {
    std::string path;
    std::string comment;
  };
  std::vector<Entry> ro;
  auto in_dir = [&](const std::string& path) {
    for (const auto& [d, u] : dirs) {
      if (under(path, d)) return true;
    }
    return false;
  };
  for (const auto& [dir, use] : dirs) ro.push_back({dir, "directory: " + use_comment(use)});
  for (const auto& [path, use] : files) {
    if (in_dir(path)) continue;
    if (sensitive(path)) {
      w.notes.push_back("refused: " + path + " is sensitive; add it by hand if the job truly needs it");
      continue;
    }
    // A shell the job ran is learned like any program, but it is what command injection needs
    // (ImageMagick's delegates go through /bin/sh; the shipped policy masks it): say so, for review.
    std::string entry_comment = use_comment(use);
    if (use.accesses.count(Access::kExec) != 0 && is_shell(path)) {
      entry_comment += "; a shell: review";
      w.notes.push_back("the job ran a shell, " + path + " (" + use_comment(use) +
                        "): a command injection needs one; remove it, or mask it with filesystem.deny, "
                        "if the tool works without (ImageMagick falls back when its delegates cannot run)");
    }
    ro.push_back({path, entry_comment});
  }
  for (const auto& [path, use] : links) {
    if (in_dir(path) || sensitive(path)) continue;
    ro.push_back({path, "symlink on the way: " + use_comment(use)});
  }
  std::sort(ro.begin(), ro.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
  for (const auto& [path, use] : hidden) {
    w.notes.push_back("hidden from the job (exists on the host, not in the sandbox): " + path + " (" + use_comment(use) + ")");
  }
  for (const auto& [path, use] : writes) {
    w.notes.push_back("written outside --rw: " + path + " (" + use_comment(use) + "); give its directory with --rw if the job needs it");
  }

  // The syscall allow-list: the baseline and what was seen, groups where every member was used.
  std::set<std::string> calls(seccomp::learning_baseline().begin(), seccomp::learning_baseline().end());
  std::vector<std::string> unnamed;
  for (const auto& [name, n] : o.syscalls) {
    if (seccomp::is_known_syscall(name)) {
      calls.insert(name);
    } else {
      unnamed.push_back(name);
    }
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> groups_used;
  for (const auto& group : seccomp::groups()) {
    auto members = seccomp::expand({"@" + std::string(group.name)});
    if (!members || members->size() < 2) continue;
    std::vector<std::string> native;
    for (const auto& m : *members) {
      if (seccomp::syscall_number(m)) native.push_back(m);
    }
    if (native.size() < 2) continue;
    if (!std::all_of(native.begin(), native.end(), [&](const std::string& m) { return calls.count(m) != 0; })) continue;
    groups_used.emplace_back(std::string(group.name), native);
  }
  std::set<std::string> in_groups;
  for (const auto& [name, members] : groups_used) in_groups.insert(members.begin(), members.end());

  // Socket families.
  std::vector<std::string> families{"unix"};
  for (int f : o.socket_families) {
    const std::string name = seccomp::socket_family_name(f);
    if (!seccomp::socket_family(name)) {
      w.notes.push_back("socket family " + name + " was used but has no name a policy can give; left out");
      continue;
    }
    if (std::find(families.begin(), families.end(), name) == families.end()) families.push_back(name);
  }

  // The text.
  std::string t;
  auto line = [&t](const std::string& s) { t += s + "\n"; };
  std::string command;
  for (const auto& a : o.command) command += (command.empty() ? "" : " ") + a;
  line("# Learned by `" + comment_text(options.generated_by) + "` from " + std::to_string(o.runs) + " run" +
       (o.runs == 1 ? "" : "s") + " (last outcome: " + comment_text(o.outcome) + ").");
  line("# Command: " + comment_text(command));
  if (!o.base_policy.empty()) line("# Learned under the isolation of: " + comment_text(o.base_policy));
  line("# Learning is not enforcement: review every line, then `confine check` it, run it with");
  line("# `confine run --audit` on more inputs, and tighten (docs/writing-policies.md).");
  line("version = 1");
  line("description = " + quote("Learned for " + command));
  line("");
  line("[process]");
  line("uid = 1000");
  line("gid = 1000");
  line("hostname = \"sandbox\"");
  if (options.cwd) line("cwd = " + quote(*options.cwd));
  line("");
  line("[filesystem]");
  line("ro = [");
  for (const auto& e : ro) line("  " + quote(e.path) + ",  # " + e.comment);
  line("]");
  line("rw = [");
  for (const auto& d : options.rw) line("  " + quote(d) + ",  # --rw");
  line("]");
  line("tmpfs = [{ path = \"/tmp\", size = \"64M\" }]");
  line("dev = true");
  line("proc = true");
  for (const auto& [path, use] : hidden) line("# hidden by the base, not added (add with --ro if needed): " + comment_text(path) + " (" + use_comment(use) + ")");
  if (missing != 0) line("# " + std::to_string(missing) + " more paths were looked for and exist nowhere (not listed)");
  line("");
  line("[network]");
  line("mode = \"none\"");
  std::string fam;
  for (const auto& f : families) fam += (fam.empty() ? "" : ", ") + quote(f);
  line("socket_families = [" + fam + "]  # unix always; the rest as seen");
  line("");
  line("[env]");
  line("keep = [\"LANG\", \"LC_*\", \"TZ\"]");
  line("set = { PATH = \"/usr/local/bin:/usr/bin:/bin\", HOME = \"/tmp\", TMPDIR = \"/tmp\" }");
  line("");
  line("[limits]");
  // Headroom: 4x the time (a slower machine, a bigger input), 2x memory, pids and files.
  line("wall_time = " + quote(seconds_text(std::max<uint64_t>(o.wall_time_us * 4, 10'000'000))) +
       "  # 4x the longest run (" + std::to_string(o.wall_time_us / 1000) + " ms), at least 10s");
  line("cpu_time = " + quote(seconds_text(std::max<uint64_t>(o.cpu_time_us * 4, 10'000'000))) +
       "  # 4x the most CPU used (" + std::to_string(o.cpu_time_us / 1000) + " ms), at least 10s");
  line("kill_grace = \"2s\"");
  if (o.memory_peak_bytes) {
    line("memory = " + quote(size_text(std::max<uint64_t>(*o.memory_peak_bytes * 2, 64ULL << 20))) + "  # 2x the peak (" +
         std::to_string(*o.memory_peak_bytes >> 20) + " MiB), at least 64M");
  } else {
    line("memory = \"512M\"  # no peak was measured here (no memory controller): a default");
  }
  line("swap = \"0\"");
  if (o.pids_peak) {
    line("pids = " + std::to_string(std::max<uint64_t>(*o.pids_peak * 2, 16)) + "  # 2x the peak (" +
         std::to_string(*o.pids_peak) + "), at least 16");
  } else {
    line("pids = 64  # no peak was measured here (no pids controller): a default");
  }
  line("open_files = " + std::to_string(o.open_files_peak ? std::max<uint64_t>(*o.open_files_peak * 2, 64) : 256) +
       (o.open_files_peak ? "  # 2x the sampled peak (" + std::to_string(*o.open_files_peak) + "), at least 64" : std::string("  # a default")));
  line("output = " + quote(size_text(std::max<uint64_t>(o.output_bytes * 4, 1ULL << 20))) + "  # 4x the most output (" +
       std::to_string(o.output_bytes) + " bytes), at least 1M");
  line("file_size = \"256M\"");
  line("core_dumps = false");
  line("");
  line("[seccomp]");
  line("# An allow-list: syscalls not named here fail with ENOSYS, as on a kernel without them.");
  line("default_action = \"errno\"");
  line("errno = \"ENOSYS\"");
  line("");
  line("[[seccomp.rule]]");
  line("action = \"allow\"");
  line("syscalls = [");
  for (const auto& [name, members] : groups_used) line("  " + quote("@" + name) + ",  # every member used");
  for (const auto& name : calls) {
    if (in_groups.count(name) != 0) continue;
    auto it = o.syscalls.find(name);
    line("  " + quote(name) + ",  # " + (it == o.syscalls.end() ? std::string("baseline") : times(it->second)));
  }
  line("]");
  // @default-deny (kernel attack surface no ordinary job needs, docs/seccomp.md) is outside the
  // allow-list, so it would fail with ENOSYS like any call never seen; a kill rule instead makes an
  // attempt a violation the report names, as in the shipped policies. Members the job was seen to
  // use stay allowed (a later rule replaces an earlier one, so they are left out of this one).
  std::vector<std::string> deny_unused;
  if (auto members = seccomp::expand({"@default-deny"})) {
    std::set<std::string> native;
    for (const auto& m : *members) {
      if (seccomp::syscall_number(m)) native.insert(m);
    }
    for (const auto& m : native) {
      if (calls.count(m) == 0) deny_unused.push_back(m);
    }
    const bool whole = deny_unused.size() == native.size();
    if (!deny_unused.empty()) {
      line("");
      line("[[seccomp.rule]]");
      line("# Kernel attack surface (docs/seccomp.md): an attempt kills the job and the report names it.");
      line("action = \"kill\"");
      if (whole) {
        line("syscalls = [\"@default-deny\"]");
      } else {
        line("syscalls = [  # @default-deny without the members this job was seen to use");
        for (const auto& m : deny_unused) line("  " + quote(m) + ",");
        line("]");
      }
    }
  }
  for (const auto& name : unnamed) line("# used, but has no name here (left out): " + comment_text(name));
  if (!o.ioctl_requests.empty()) {
    std::string reqs;
    for (uint32_t r : o.ioctl_requests) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0x%x", r);
      reqs += (reqs.empty() ? "" : " ") + std::string(buf);
    }
    line("# ioctl requests seen (a policy cannot narrow ioctl by request yet): " + reqs);
  }
  if (!o.personalities.empty()) {
    std::string ps;
    for (uint64_t p : o.personalities) ps += (ps.empty() ? "" : " ") + std::to_string(p);
    line("# personality values seen: " + ps);
  }
  line("");
  line("[capabilities]");
  line("keep = []");
  line("");
  line("[enforcement]");
  line("resources = \"best-effort\"");
  line("seccomp = \"required\"");
  line("landlock = \"best-effort\"");
  line("");
  for (const auto& n : w.notes) line("# note: " + comment_text(n));
  line("# What learn saw, for `confine learn --merge` (one line, JSON):");
  line("# learn-data: " + comment_text(to_json(o)));
  w.toml = std::move(t);
  return w;
}

}  // namespace confine::learn
