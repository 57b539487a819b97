// Finding policies by name (docs/policy.md, "Finding policies by name"), for every subcommand.
//
// No path from the build tree is compiled in: a binary copied elsewhere must not trust, as root,
// whatever happens to sit where its source tree once was (anyone could create that directory
// on a machine where it does not exist). The installed policies are found relative to the
// binary itself; a build tree is pointed at with CONFINE_POLICY_PATH.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.h"

namespace confine::cli {
namespace {

void add_list(std::vector<std::string>& out, const char* list) {
  if (list == nullptr) return;
  std::string text(list);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t colon = text.find(':', pos);
    if (colon == std::string::npos) colon = text.size();
    const std::string dir = text.substr(pos, colon - pos);
    if (!dir.empty() && dir.front() == '/') out.push_back(dir);  // relative entries would follow the cwd
    pos = colon + 1;
  }
}

}  // namespace

std::vector<std::string> policy_search_path() {
  std::vector<std::string> path;
  add_list(path, std::getenv("CONFINE_POLICY_PATH"));
  // A user's own policies; not root's, whose environment a service may pass through unchecked.
  if (::geteuid() != 0) {
    if (const char* config = std::getenv("XDG_CONFIG_HOME"); config != nullptr && config[0] == '/') {
      path.push_back(std::string(config) + "/confine/policies");
    } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
      path.push_back(std::string(home) + "/.config/confine/policies");
    }
  }
  path.emplace_back("/etc/confine/policies");
  // The shipped policies, next to the installed binary: <prefix>/bin/confine ->
  // <prefix>/share/confine/policies.
  // Where this binary is cannot change while it runs: looked up once per process (a run asks
  // twice, for the policy and for its includes), not an lstat and a readlink each time.
  static const std::string shipped = [] {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : (exe.parent_path().parent_path() / "share/confine/policies").string();
  }();
  if (!shipped.empty()) path.push_back(shipped);
  return path;
}

Expected<std::string> resolve_policy_argument(const std::string& argument) {
  const std::string name = argument.empty() ? std::string("default") : argument;
  // A file of that name in the working directory is what `-p job.toml` always meant.
  struct stat st {};
  if (!argument.empty() && ::stat(argument.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return argument;
  return policy::find_policy(name, policy_search_path());
}

policy::LoadOptions policy_load_options() {
  policy::LoadOptions options;
  options.search_path = policy_search_path();
  if (::geteuid() == 0) options.trusted_owner = 0;
  return options;
}

}  // namespace confine::cli
