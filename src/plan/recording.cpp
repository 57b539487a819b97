// The host's answers to a plan, recorded and asked again (plan.h, HostAnswer).
//
// A batch plans the same policy and request job after job. The plan's own work (building the
// mounts, resolving symlinks inside the sandbox, the protections list) took about as long as
// its questions to the host, and gives the same plan whenever the answers are the same. So a
// batch records every answer once, asks every question again for the next job (the same lstat
// and readlink calls a fresh plan makes) and reuses the plan only if nothing changed: each job
// is still planned against the host as it is then, never against a remembered host.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "confine/plan.h"

namespace confine::plan {
namespace {

using Probe = HostAnswer::Probe;

std::string encode(FileKind kind) { return std::to_string(static_cast<int>(kind)); }

std::string encode(const std::optional<std::string>& text) { return text ? "+" + *text : "-"; }

std::string encode(bool yes) { return yes ? "1" : "0"; }

std::string encode(const std::optional<uint64_t>& limit) { return limit ? std::to_string(*limit) : "-"; }

// Entries as name, NUL, kind, NUL: a name cannot hold a NUL, so no two listings encode alike.
std::string encode(const std::optional<std::vector<DirEntry>>& entries) {
  if (!entries) return "-";
  std::string out = "+";
  for (const DirEntry& e : *entries) {
    out += e.name;
    out += '\0';
    out += encode(e.kind);
    out += '\0';
  }
  return out;
}

// The answer `host` gives now to `question`, encoded as recording() encodes it; nullopt when
// `host` no longer has that probe.
std::optional<std::string> ask(const HostFacts& host, Probe probe, const std::string& question) {
  switch (probe) {
    case Probe::kFileKind:
      if (host.file_kind) return encode(host.file_kind(question));
      break;
    case Probe::kReadLink:
      if (host.read_link) return encode(host.read_link(question));
      break;
    case Probe::kExecutable:
      if (host.executable) return encode(host.executable(question));
      break;
    case Probe::kListDirectory:
      if (host.list_directory) return encode(host.list_directory(question));
      break;
    case Probe::kHardLimit:
      if (host.hard_limit) return encode(host.hard_limit(std::stoi(question)));
      break;
    case Probe::kUserNamespace:
      if (host.try_user_namespace) return host.try_user_namespace();
      break;
  }
  return std::nullopt;
}

// `probe`, when set, also notes its question and answer as `kind` (a probe that takes a path).
template <class Answer>
void record_path_probe(std::function<Answer(const std::string&)>& probe, Probe kind,
                       const std::shared_ptr<std::vector<HostAnswer>>& into) {
  if (!probe) return;
  probe = [into, kind, ask = probe](const std::string& path) {
    Answer answer = ask(path);
    into->push_back(HostAnswer{kind, path, encode(answer)});
    return answer;
  };
}

}  // namespace

HostFacts recording(const HostFacts& host, std::shared_ptr<std::vector<HostAnswer>> into) {
  HostFacts out = host;
  record_path_probe(out.file_kind, Probe::kFileKind, into);
  record_path_probe(out.read_link, Probe::kReadLink, into);
  record_path_probe(out.executable, Probe::kExecutable, into);
  record_path_probe(out.list_directory, Probe::kListDirectory, into);
  if (host.hard_limit) {
    out.hard_limit = [into, ask = host.hard_limit](int resource) {
      auto limit = ask(resource);
      into->push_back(HostAnswer{Probe::kHardLimit, std::to_string(resource), encode(limit)});
      return limit;
    };
  }
  if (host.try_user_namespace) {
    out.try_user_namespace = [into, ask = host.try_user_namespace] {
      std::string why = ask();
      into->push_back(HostAnswer{Probe::kUserNamespace, "", why});
      return why;
    };
  }
  return out;
}

bool answers_hold(const HostFacts& host, const std::vector<HostAnswer>& answers) {
  for (const HostAnswer& a : answers) {
    const auto now = ask(host, a.probe, a.question);
    if (!now || *now != a.answer) return false;
  }
  return true;
}

}  // namespace confine::plan
