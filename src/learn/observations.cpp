// Observations: names, merging, and their JSON form (carried inside a learned policy, so that
// --merge can read an earlier learned policy back).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "confine/learn.h"

namespace confine::learn {

namespace {
constexpr std::pair<Access, const char*> kAccessNames[] = {
    {Access::kRead, "read"},   {Access::kList, "list"},   {Access::kExec, "exec"},     {Access::kMap, "map"},
    {Access::kProbe, "probe"}, {Access::kWrite, "write"}, {Access::kCreate, "create"},
};
constexpr const char* kDataPrefix = "# learn-data: ";

template <typename T>
void take_max(std::optional<T>& into, const std::optional<T>& more) {
  if (more && (!into || *more > *into)) into = more;
}
}  // namespace

const char* to_string(Access access) {
  for (const auto& [a, name] : kAccessNames) {
    if (a == access) return name;
  }
  return "read";
}

std::optional<Access> access_from_string(std::string_view text) {
  for (const auto& [a, name] : kAccessNames) {
    if (text == name) return a;
  }
  return std::nullopt;
}

void merge(Observations& into, const Observations& more) {
  std::map<std::pair<std::string, Access>, size_t> index;
  for (size_t i = 0; i < into.paths.size(); ++i) index[{into.paths[i].path, into.paths[i].access}] = i;
  for (const PathRecord& r : more.paths) {
    auto it = index.find({r.path, r.access});
    if (it == index.end()) {
      index[{r.path, r.access}] = into.paths.size();
      into.paths.push_back(r);
      continue;
    }
    PathRecord& have = into.paths[it->second];
    have.count += r.count;
    // Present in any run: it must be there for that input.
    have.in_sandbox = have.in_sandbox || r.in_sandbox;
    have.on_host = have.on_host || r.on_host;
  }
  for (const auto& [name, n] : more.syscalls) into.syscalls[name] += n;
  into.socket_families.insert(more.socket_families.begin(), more.socket_families.end());
  into.ioctl_requests.insert(more.ioctl_requests.begin(), more.ioctl_requests.end());
  into.personalities.insert(more.personalities.begin(), more.personalities.end());
  take_max(into.memory_peak_bytes, more.memory_peak_bytes);
  take_max(into.pids_peak, more.pids_peak);
  take_max(into.open_files_peak, more.open_files_peak);
  into.wall_time_us = std::max(into.wall_time_us, more.wall_time_us);
  into.cpu_time_us = std::max(into.cpu_time_us, more.cpu_time_us);
  into.output_bytes = std::max(into.output_bytes, more.output_bytes);
  into.runs += more.runs;
  into.missing_unrecorded += more.missing_unrecorded;
  if (into.outcome.empty() || more.outcome != "ok") into.outcome = more.outcome;
}

std::string to_json(const Observations& o) {
  nlohmann::json j;
  j["command"] = o.command;
  j["outcome"] = o.outcome;
  j["base_policy"] = o.base_policy;
  j["runs"] = o.runs;
  auto& paths = j["paths"] = nlohmann::json::array();
  size_t missing = 0;
  uint64_t unrecorded = o.missing_unrecorded;
  for (const PathRecord& r : o.paths) {
    if (!r.in_sandbox && !r.on_host && ++missing > kMaxMissingRecorded) {
      ++unrecorded;
      continue;
    }
    paths.push_back({{"path", r.path}, {"access", to_string(r.access)}, {"in_sandbox", r.in_sandbox},
                     {"on_host", r.on_host}, {"directory", r.directory}, {"symlink", r.symlink},
                     {"count", r.count}, {"first_pid", r.first_pid}, {"by", r.by}});
  }
  j["syscalls"] = o.syscalls;
  j["socket_families"] = o.socket_families;
  j["ioctl_requests"] = o.ioctl_requests;
  j["personalities"] = o.personalities;
  auto opt = [](const std::optional<uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  j["memory_peak_bytes"] = opt(o.memory_peak_bytes);
  j["pids_peak"] = opt(o.pids_peak);
  j["open_files_peak"] = opt(o.open_files_peak);
  j["wall_time_us"] = o.wall_time_us;
  j["cpu_time_us"] = o.cpu_time_us;
  j["output_bytes"] = o.output_bytes;
  j["missing_unrecorded"] = unrecorded;
  return j.dump();
}

Expected<Observations> from_json(std::string_view text) {
  try {
    const auto j = nlohmann::json::parse(text);
    Observations o;
    o.command = j.at("command").get<std::vector<std::string>>();
    o.outcome = j.at("outcome").get<std::string>();
    o.base_policy = j.value("base_policy", std::string());
    o.runs = j.value("runs", uint64_t{1});
    for (const auto& p : j.at("paths")) {
      PathRecord r;
      r.path = p.at("path").get<std::string>();
      auto access = access_from_string(p.at("access").get<std::string>());
      if (!access) return fail(ErrorCode::kInvalidArgument, "unknown access '" + p.at("access").get<std::string>() + "'");
      r.access = *access;
      r.in_sandbox = p.at("in_sandbox").get<bool>();
      r.on_host = p.at("on_host").get<bool>();
      r.directory = p.value("directory", false);
      r.symlink = p.value("symlink", false);
      r.count = p.at("count").get<uint64_t>();
      r.first_pid = p.value("first_pid", 0);
      r.by = p.value("by", std::string());
      o.paths.push_back(std::move(r));
    }
    o.syscalls = j.at("syscalls").get<std::map<std::string, uint64_t>>();
    o.socket_families = j.at("socket_families").get<std::set<int>>();
    o.ioctl_requests = j.at("ioctl_requests").get<std::set<uint32_t>>();
    o.personalities = j.at("personalities").get<std::set<uint64_t>>();
    auto opt = [&j](const char* key) -> std::optional<uint64_t> {
      if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
      return j.at(key).get<uint64_t>();
    };
    o.memory_peak_bytes = opt("memory_peak_bytes");
    o.pids_peak = opt("pids_peak");
    o.open_files_peak = opt("open_files_peak");
    o.wall_time_us = j.value("wall_time_us", uint64_t{0});
    o.cpu_time_us = j.value("cpu_time_us", uint64_t{0});
    o.output_bytes = j.value("output_bytes", uint64_t{0});
    o.missing_unrecorded = j.value("missing_unrecorded", uint64_t{0});
    return o;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kInvalidArgument, std::string("learn data: ") + e.what());
  }
}

Expected<Observations> from_policy_text(std::string_view text) {
  const size_t at = text.find(kDataPrefix);
  if (at == std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "no '# learn-data:' line: not a policy written by confine learn",
                "merge only the output of confine learn (its last line carries what it saw)");
  }
  const size_t start = at + std::string_view(kDataPrefix).size();
  const size_t end = text.find('\n', start);
  return from_json(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
}

}  // namespace confine::learn
