// JSON pieces shared by canonical_text and explain_json.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "confine/policy.h"

namespace confine::policy::detail {

[[nodiscard]] nlohmann::json path_rule_json(const PathRule& rule);
[[nodiscard]] nlohmann::json tmpfs_rule_json(const TmpfsRule& rule);
[[nodiscard]] nlohmann::json seccomp_rule_json(const SeccompRule& rule);
// Never throws, whatever the strings hold.
[[nodiscard]] std::string dump(const nlohmann::json& json, int indent);

}  // namespace confine::policy::detail
