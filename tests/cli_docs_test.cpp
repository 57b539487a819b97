// The command line, its man page and its shell completion say the same: every option `confine
// run --help` lists appears in docs/man/confine-run.1.md and in the bash, zsh and fish
// completion, so adding an option without documenting and completing it fails here.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "command_line.h"

namespace confine::cli {
namespace {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(CONFINE_SOURCE_DIR) + "/" + relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The long options a subcommand's --help lists.
std::set<std::string> long_options(const char* subcommand) {
  const char* argv[] = {"confine", subcommand, "--help", nullptr};
  std::ostringstream out;
  std::ostringstream err;
  (void)parse_command_line(3, argv, out, err);
  std::set<std::string> options;
  const std::string help = out.str();
  // Every "--" followed by a lower-case letter, then letters and dashes: the pattern
  // --[a-z][a-z-]*, scanned by hand (std::regex trips GCC 12's maybe-uninitialized warning
  // inside libstdc++ under -fsanitize=address, which the -Werror sanitizer build refuses).
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  for (size_t at = help.find("--"); at != std::string::npos; at = help.find("--", at + 1)) {
    size_t end = at + 2;
    if (end >= help.size() || !is_lower(help[end])) continue;
    while (end < help.size() && (is_lower(help[end]) || help[end] == '-')) ++end;
    options.insert(help.substr(at, end - at));
    at = end - 1;
  }
  return options;
}

TEST(CliDocs, EveryRunOptionIsDocumentedAndCompleted) {
  const auto options = long_options("run");
  ASSERT_GE(options.size(), 30U) << "the help text was not parsed";
  const std::string man = read_source("docs/man/confine-run.1.md");
  const std::string bash = read_source("packaging/completions/confine.bash");
  const std::string zsh = read_source("packaging/completions/_confine");
  const std::string fish = read_source("packaging/completions/confine.fish");
  ASSERT_FALSE(man.empty() || bash.empty() || zsh.empty() || fish.empty());
  for (const auto& option : options) {
    const std::string name = option.substr(2);
    // The man page escapes the dashes for pandoc: **\-\-timeout**.
    EXPECT_NE(man.find("\\-\\-" + name), std::string::npos) << option << " is not in confine-run(1)";
    EXPECT_NE(bash.find(option), std::string::npos) << option << " is not completed by bash";
    EXPECT_NE(zsh.find(option), std::string::npos) << option << " is not completed by zsh";
    EXPECT_NE(fish.find("-l " + name + " "), std::string::npos) << option << " is not completed by fish";
  }
}

TEST(CliDocs, EverySubcommandIsDocumentedAndCompleted) {
  const std::string man = read_source("docs/man/confine.1.md");
  for (const char* command : {"run", "learn", "batch", "check", "explain", "doctor", "report"}) {
    EXPECT_NE(man.find(std::string("**") + command + "**"), std::string::npos) << command;
    for (const char* file : {"packaging/completions/confine.bash", "packaging/completions/_confine",
                             "packaging/completions/confine.fish"}) {
      EXPECT_NE(read_source(file).find(command), std::string::npos) << command << " in " << file;
    }
  }
  for (const auto& option : long_options("doctor")) {
    EXPECT_NE(read_source("packaging/completions/_confine").find(option), std::string::npos) << option;
  }
}

// The bash completion at least parses (zsh and fish are not installed on the build machines).
TEST(CliDocs, TheBashCompletionParses) {
  const std::string path = std::string(CONFINE_SOURCE_DIR) + "/packaging/completions/confine.bash";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl("/bin/bash", "bash", "-n", path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "bash -n " << path;
}

}  // namespace
}  // namespace confine::cli
