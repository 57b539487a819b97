// The group table and the name helpers: every member resolves, references are acyclic, and
// unknown names are refused with a useful suggestion.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(SeccompGroups, EveryMemberIsAKnownSyscallOrGroup) {
  for (const Group& group : groups()) {
    EXPECT_FALSE(group.description.empty()) << group.name;
    EXPECT_FALSE(group.members.empty()) << group.name;
    for (std::string_view member : group.members) {
      if (member.starts_with('@')) {
        EXPECT_NE(find_group(member.substr(1)), nullptr) << "@" << group.name << ": " << member;
      } else {
        EXPECT_TRUE(is_known_syscall(member)) << "@" << group.name << ": " << member;
      }
    }
  }
}

TEST(SeccompGroups, NamesAreUniqueAndReferencesAcyclic) {
  std::set<std::string_view> names;
  for (const Group& group : groups()) EXPECT_TRUE(names.insert(group.name).second) << group.name;

  // Depth-first search with colours: grey on the stack, black finished.
  std::map<std::string_view, int> colour;
  std::function<bool(std::string_view)> cyclic = [&](std::string_view name) {
    colour[name] = 1;
    for (std::string_view member : find_group(name)->members) {
      if (!member.starts_with('@')) continue;
      std::string_view ref = member.substr(1);
      if (find_group(ref) == nullptr) continue;  // reported by the test above
      if (colour[ref] == 1) return true;
      if (colour[ref] == 0 && cyclic(ref)) return true;
    }
    colour[name] = 2;
    return false;
  };
  for (const Group& group : groups()) {
    if (colour[group.name] == 0) {
      EXPECT_FALSE(cyclic(group.name)) << group.name;
    }
  }
}

TEST(SeccompGroups, EveryGroupExpands) {
  for (const Group& group : groups()) {
    auto names = expand({"@" + std::string(group.name)});
    ASSERT_TRUE(names.has_value()) << group.name << ": " << names.error().render();
    EXPECT_TRUE(std::is_sorted(names->begin(), names->end()));
    EXPECT_EQ(std::adjacent_find(names->begin(), names->end()), names->end());
  }
}

// @confine-base is the shipped allow-list: it never allows what @default-deny kills or what
// needs a capability in the initial user namespace, nor the calls argued for being left out.
TEST(SeccompGroups, ConfineBaseAllowsNothingDangerous) {
  auto base = expand({"@confine-base"});
  auto deny = expand({"@default-deny", "@privileged", "@personality"});
  ASSERT_TRUE(base.has_value()) << base.error().render();
  ASSERT_TRUE(deny.has_value()) << deny.error().render();
  for (const std::string& name : *deny) EXPECT_FALSE(contains(*base, name)) << name;
  for (const char* name : {"seccomp", "mbind", "set_mempolicy", "mlock", "shmget", "msgget", "semget",
                           "setxattr", "fanotify_mark", "setuid", "setgid", "setgroups",
                           "capset", "vhangup", "lookup_dcookie", "io_setup", "name_to_handle_at"}) {
    EXPECT_FALSE(contains(*base, name)) << name;
  }
  // And it holds what every dynamically linked program needs to start and exit.
  for (const char* name : {"execve", "brk", "mmap", "mprotect", "openat", "read", "close", "newfstatat",
                           "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
                           "getrandom", "exit_group", "clone", "wait4", "futex",
                           // Not called by programs: the kernel restarts an interrupted nanosleep,
                           // poll or futex wait through it after a signal handler (seen under
                           // --audit in LibreOffice's wall-time test).
                           "restart_syscall"}) {
    EXPECT_TRUE(contains(*base, name)) << name;
  }
}

TEST(SeccompGroups, DefaultDenyCoversTheDangerousInterfaces) {
  auto names = expand({"@default-deny"});
  ASSERT_TRUE(names.has_value()) << names.error().render();
  for (const char* name :
       {"io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
        "userfaultfd", "add_key", "request_key", "keyctl", "kexec_load", "kexec_file_load",
        "init_module", "finit_module", "delete_module", "mount", "umount2", "pivot_root",
        "chroot", "fsopen", "fsmount", "open_tree", "move_mount", "mount_setattr", "ptrace",
        "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "open_by_handle_at",
        "unshare", "setns", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime",
        "clock_adjtime", "adjtimex", "iopl", "ioperm", "uselib", "_sysctl", "acct", "quotactl",
        "syslog", "fanotify_init", "modify_ldt"}) {
    EXPECT_TRUE(contains(*names, name)) << name;
  }
  // What every program needs must never be swept in by a group.
  for (const char* name : {"read", "write", "openat", "mmap", "execve", "exit_group", "clone",
                           "ioctl", "personality", "landlock_create_ruleset", "seccomp"}) {
    EXPECT_FALSE(contains(*names, name)) << name;
  }
}

TEST(SeccompGroups, FindGroupTakesTheNameWithoutAt) {
  ASSERT_NE(find_group("mount"), nullptr);
  EXPECT_EQ(find_group("mount")->name, "mount");
  EXPECT_EQ(find_group("@mount"), nullptr);
  EXPECT_EQ(find_group("no-such-group"), nullptr);
}

TEST(SeccompNames, KnownSyscalls) {
  EXPECT_TRUE(is_known_syscall("read"));
  EXPECT_TRUE(is_known_syscall("io_uring_setup"));
  // Exists only on i386 and friends: known, but with no native number.
  EXPECT_TRUE(is_known_syscall("stime"));
  EXPECT_FALSE(syscall_number("stime").has_value());
  EXPECT_FALSE(is_known_syscall("no_such_syscall"));
  EXPECT_FALSE(is_known_syscall(""));
  EXPECT_FALSE(is_known_syscall("@mount"));
}

TEST(SeccompNames, NumbersAndNamesRoundTrip) {
  auto read_nr = syscall_number("read");
  ASSERT_TRUE(read_nr.has_value());
#if defined(__x86_64__)
  EXPECT_EQ(*read_nr, 0);
  EXPECT_EQ(syscall_number("clone3"), 435);
#endif
  EXPECT_EQ(syscall_name(*read_nr), "read");
  EXPECT_EQ(syscall_name(*syscall_number("openat")), "openat");
  EXPECT_EQ(syscall_name(99999), "syscall_99999");
  EXPECT_EQ(syscall_name(-5), "syscall_-5");
  EXPECT_FALSE(syscall_number("no_such_syscall").has_value());
  EXPECT_FALSE(syscall_number("@mount").has_value());
}

TEST(SeccompNames, ExpandMixesNamesAndGroups) {
  auto names = expand({"write", "@reboot", "read", "write", "@bpf"});
  ASSERT_TRUE(names.has_value()) << names.error().render();
  EXPECT_EQ(*names, (std::vector<std::string>{"bpf", "read", "reboot", "write"}));
  auto nested = expand({"@privileged"});
  ASSERT_TRUE(nested.has_value());
  EXPECT_TRUE(contains(*nested, "init_module"));  // through @module
  EXPECT_TRUE(contains(*nested, "vhangup"));      // a direct member
}

TEST(SeccompNames, ExpandRejectsUnknownNamesWithAHint) {
  auto bad = expand({"read", "gtepid"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("'gtepid'"), std::string::npos) << bad.error().message;
  EXPECT_EQ(bad.error().hint, "did you mean 'getpid'?");

  auto bad_group = expand({"@mounts"});
  ASSERT_FALSE(bad_group.has_value());
  EXPECT_NE(bad_group.error().message.find("group '@mounts'"), std::string::npos);
  EXPECT_EQ(bad_group.error().hint, "did you mean '@mount'?");
}

TEST(SeccompNames, Suggest) {
  EXPECT_EQ(suggest("io_uring_setpu"), "io_uring_setup");
  EXPECT_EQ(suggest("@defaultdeny"), "@default-deny");
  EXPECT_EQ(suggest("default-deny"), "@default-deny");
  EXPECT_EQ(suggest("stim"), "stime");  // from a group, though not native
  EXPECT_EQ(suggest("xyzzy_frobnicate"), "");
  EXPECT_EQ(suggest(""), "");
}

}  // namespace
}  // namespace confine::seccomp
