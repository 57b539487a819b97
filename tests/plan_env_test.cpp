// build_env and is_secret_name as tables: what passes from the caller, what never does.
#include <gtest/gtest.h>

#include "confine/plan.h"
#include "plan_fake_host.h"

namespace confine::plan {
namespace {

using testing::from_file;

policy::Policy::Env env_of(std::vector<std::string> keep, std::map<std::string, std::string> set = {},
                           std::vector<std::string> allow = {}) {
  policy::Policy::Env env;
  for (auto& k : keep) env.keep.push_back(from_file(std::move(k), 1));
  for (auto& [name, value] : set) env.set[name] = from_file(value, 2);
  for (auto& a : allow) env.allow_secrets.push_back(from_file(std::move(a), 3));
  return env;
}

TEST(IsSecretName, Table) {
  const struct {
    const char* name;
    bool secret;
  } cases[] = {
      {"GITHUB_TOKEN", true},   {"github_token", true},  {"MySecret", true},   {"DB_PASSWORD", true},
      {"PGPASSWD", true},       {"SSH_AUTH_KEY", true},  {"api_key", true},    {"GOOGLE_CREDENTIALS", true},
      {"AWS_REGION", true},     {"aws_profile", true},   {"LD_PRELOAD", true}, {"ld_library_path", true},
      {"PATH", false},          {"HOME", false},         {"LANG", false},      {"LC_ALL", false},
      {"OLD_PATH", false},      {"XAWS_THING", false},   {"TERM", false},      {"", false},
  };
  for (const auto& c : cases) EXPECT_EQ(is_secret_name(c.name), c.secret) << c.name;
}

TEST(BuildEnv, Table) {
  const struct {
    const char* what;
    policy::Policy::Env env;
    std::vector<std::string> caller;
    std::vector<std::string> want;
  } cases[] = {
      {"nothing kept by default", env_of({}), {"PATH=/x", "HOME=/h"}, {}},
      {"exact names", env_of({"LANG", "TZ"}), {"TZ=UTC", "LANG=C", "LANGUAGE=en"}, {"LANG=C", "TZ=UTC"}},
      {"globs", env_of({"LC_*", "X?"}), {"LC_ALL=C", "LC_TIME=de", "XY=1", "XYZ=2", "LANG=C"},
       {"LC_ALL=C", "LC_TIME=de", "XY=1"}},
      {"secrets dropped even when globbed", env_of({"*"}), {"A=1", "github_token=t", "Db_Password=p", "AWS_X=1"},
       {"A=1"}},
      {"allow_secrets is exact", env_of({"*"}, {}, {"GITHUB_TOKEN"}),
       {"GITHUB_TOKEN=t", "github_token=u", "GITHUB_TOKEN_2=v"}, {"GITHUB_TOKEN=t"}},
      {"allow_secrets does not keep by itself", env_of({}, {}, {"GITHUB_TOKEN"}), {"GITHUB_TOKEN=t"}, {}},
      {"LD_PRELOAD dropped", env_of({"LD_*", "LD_PRELOAD"}), {"LD_PRELOAD=/evil.so", "LD_LIBRARY_PATH=/x"}, {}},
      {"set overrides kept", env_of({"PATH", "HOME"}, {{"PATH", "/usr/bin"}}), {"PATH=/caller", "HOME=/h"},
       {"HOME=/h", "PATH=/usr/bin"}},
      {"set may name secrets (the author's values)", env_of({}, {{"API_KEY", "k"}}), {}, {"API_KEY=k"}},
      {"first duplicate wins, malformed ignored", env_of({"A", "B"}), {"A=1", "A=2", "B", "=x", "B=="},
       {"A=1", "B=="}},
      {"empty values kept", env_of({"E"}), {"E="}, {"E="}},
      {"sorted by name", env_of({"*"}), {"Z=1", "A=2", "M=3"}, {"A=2", "M=3", "Z=1"}},
  };
  for (const auto& c : cases) EXPECT_EQ(build_env(c.env, c.caller), c.want) << c.what;
}

}  // namespace
}  // namespace confine::plan
