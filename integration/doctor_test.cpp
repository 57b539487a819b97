// `confine doctor` on the machine it runs on: its verdict must match what the machine really
// offers. Here (no cgroup v2 controllers) it must say the default policy cannot run fully
// enforced and name the missing controllers; in the VM (controllers present) it must say the
// policy runs fully enforced — the VM harness runs the same binary there as a smoke step.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "harness.h"

namespace integ {
namespace {

// The controllers the cgroup2 mount offers at its root (empty set when there is no cgroup2).
std::set<std::string> root_controllers() {
  std::set<std::string> out;
  for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    auto text = read_text(std::string(root) + "/cgroup.controllers");
    if (!text) continue;
    std::istringstream in(*text);
    std::string word;
    while (in >> word) out.insert(word);
    break;
  }
  return out;
}

TEST(DoctorTest, RootOnlyVerdictMatchesTheControllersThisHostHas) {
  Invocation run;
  run.argv = {confine_binary(), "doctor", "--json"};
  RunResult r = start(run, "").wait();
  const auto doc = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << "doctor --json printed no JSON\n" << r.describe();
  const auto controllers = root_controllers();
  const bool all = controllers.count("memory") && controllers.count("pids");
  // The default policy limits memory and pids (resources best-effort): fully enforced exactly
  // when both controllers exist.
  EXPECT_EQ(doc["fully_enforced"].get<bool>(), all) << r.describe();
  // Without them it still runs (best-effort), with gaps: exit 2 (docs/doctor.md).
  EXPECT_EQ(doc["verdict"], all ? "fully_enforced" : "runs_with_gaps") << r.describe();
  EXPECT_EQ(r.exit_code, all ? 0 : 2) << r.describe();
  if (!all) {
    bool named = false;
    for (const auto& f : doc["findings"]) {
      if (f["check"] == "cgroup_controllers" && f["summary"].get<std::string>().find("memory") != std::string::npos) {
        named = true;
        EXPECT_FALSE(f["fixes"].empty()) << "a missing controller without a fix";
      }
    }
    EXPECT_TRUE(named) << "doctor did not name the missing memory controller\n" << r.describe();
  }
}

}  // namespace
}  // namespace integ
