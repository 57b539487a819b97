// `confine learn`: what a job was seen to do (Observations, filled by the reaper from seccomp
// user notifications), and the pure policy writer that turns one or more of them into a policy.
//
// The writer knows nothing of processes or files: observations in, TOML text out, so every rule
// it follows is a table test (tests/learn_*_test.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "confine/error.h"

namespace confine::learn {

// What a call did to a path.
enum class Access {
  kRead,    // opened for reading, read as a link, chdir'd into
  kList,    // a directory listed (getdents on a descriptor)
  kExec,    // executed, or mapped by the kernel for an exec (the binary, its ELF interpreter)
  kMap,     // a file mapped into a process that exec'd (its libraries), seen in /proc/PID/maps
  kProbe,   // looked at without opening: stat, access, statfs, readlink of a missing path
  kWrite,   // opened for writing, truncated, unlinked, renamed, chmod'ed
  kCreate,  // created: O_CREAT, mkdir, mknod, link, symlink
};
[[nodiscard]] const char* to_string(Access access);
[[nodiscard]] std::optional<Access> access_from_string(std::string_view text);

struct PathRecord {
  std::string path;  // absolute, as the sandbox names it (resolved against dirfd and cwd)
  Access access = Access::kRead;
  bool in_sandbox = true;  // it existed in the sandbox when the call was made
  bool on_host = false;    // the same path exists on the host
  bool directory = false;  // it is a directory (as the sandbox showed it)
  bool symlink = false;    // a symlink on the way to a used file (/lib64 -> usr/lib64)
  uint64_t count = 0;
  int first_pid = 0;
  std::string by;  // the executable of the first caller (/proc/PID/exe), when known
};

struct Observations {
  std::vector<std::string> command;
  std::string outcome;       // report::to_string of the run's outcome ("ok", ...)
  std::string base_policy;   // the policy file the run used
  std::vector<PathRecord> paths;
  std::map<std::string, uint64_t> syscalls;  // name ("syscall_<nr>" when unknown) -> calls
  std::set<int> socket_families;             // AF_* seen in socket() and socketpair()
  std::set<uint32_t> ioctl_requests;         // low 32 bits of ioctl's request
  std::set<uint64_t> personalities;          // personality() arguments
  // Peaks from the run's report.
  std::optional<uint64_t> memory_peak_bytes;
  std::optional<uint64_t> pids_peak;
  uint64_t wall_time_us = 0;
  uint64_t cpu_time_us = 0;
  uint64_t output_bytes = 0;
  std::optional<uint64_t> open_files_peak;
  uint64_t runs = 1;  // how many learn runs these observations union (--merge)
  // Paths that exist nowhere (not in the sandbox, not on the host) left out of to_json past the
  // first kMaxMissingRecorded: a converter probes thousands (LibreOffice, fontconfig), they change
  // nothing in the policy, and a learned policy must stay under the loader's size limit.
  uint64_t missing_unrecorded = 0;
};
inline constexpr size_t kMaxMissingRecorded = 256;

// Adds `more` into `into`: paths by (path, access), counts summed, peaks the larger.
void merge(Observations& into, const Observations& more);

// Observations as JSON (the comment block of a learned policy carries them, so --merge can read
// a learned policy back), and back. Errors name what is wrong.
[[nodiscard]] std::string to_json(const Observations& observations);
[[nodiscard]] Expected<Observations> from_json(std::string_view text);
// The observations embedded in a learned policy's text (the "# learn-data: " lines).
[[nodiscard]] Expected<Observations> from_policy_text(std::string_view text);

// What the writer needs to know beyond the observations.
struct WriteOptions {
  std::vector<std::string> rw;          // --rw directories: read-write, and what is under them is not listed
  std::optional<std::string> cwd;       // --cwd
  std::string generated_by = "confine learn";  // the command line, for the header
  // Paths the sandbox provides itself (tmpfs, /dev, /proc): never listed as ro.
  std::vector<std::string> provided = {"/tmp", "/dev", "/proc", "/sys"};
  // Files of one directory read before the directory itself is listed instead of each file.
  size_t collapse_at = 4;
  // How many entries each directory holds on the host (learn fills it for the directories of the
  // files used). A directory replaces its files only when they are at least an eighth of it, and
  // one the job only listed is exposed only when it is empty: a few files of a big directory
  // (two .pth files of Python's dist-packages' 79 entries, 34 libraries of the 1638 in
  // /usr/lib/x86_64-linux-gnu) stay files, so the rest of it stays out. A directory missing here
  // is judged by the counts alone.
  std::map<std::string, size_t> directory_entries;
};

struct Written {
  std::string toml;
  std::vector<std::string> notes;  // for the user: refusals to widen, hidden paths, writes outside --rw
};

// The policy for the observations (docs/writing-policies.md says what it contains).
[[nodiscard]] Written write_policy(const Observations& observations, const WriteOptions& options);

// True for a path no learned policy may expose, nor widen a directory to: /, /home, /root, /etc
// as a whole, credential stores (/etc/shadow, /etc/ssh, ~/.ssh, /run/secrets, ...).
[[nodiscard]] bool sensitive(std::string_view path);

// True for a command shell (sh, dash, bash, zsh, busybox...), by its file name: the writer notes
// one the job ran, since a shell in the sandbox is what command injection needs.
[[nodiscard]] bool is_shell(std::string_view path);
// `path` is `dir` or lies beneath it (absolute, normalised paths).
[[nodiscard]] bool under(const std::string& path, const std::string& dir);

}  // namespace confine::learn
