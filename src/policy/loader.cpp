// load(): a policy file and everything it extends, merged and checked in one pass.
//
// Two phases. First the `extends` graph is walked depth-first, reading each file once, so the
// applied order is known before anything is merged (bases first, each file after everything it
// builds on, every file once even when two bases share one). Then each file's table is applied
// in that order, and the whole-policy checks run on the result. Every problem from every file
// is collected; the policy is returned only when there are none.
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "confine/policy.h"
#include "confine/safe_path.h"
#include "finalize.h"
#include "reader.h"
#include "source_file.h"

namespace confine::policy {
namespace detail {
namespace {

struct Loaded {
  std::string path;
  toml::table table;
};

// Where a base is named: the `extends` entry that named it, for locating problems with it.
struct ExtendsEntry {
  Origin origin;
  std::string key;
};

class ExtendsWalker {
 public:
  ExtendsWalker(const LoadOptions& options, std::vector<Diagnostic>& diagnostics, KeyIndex& keys)
      : options_(options), diagnostics_(diagnostics), keys_(keys) {}

  // Visits `path` and, before it, the files it extends.
  void visit(const std::string& path, const ExtendsEntry* named_by) {
    // Run as root, a policy anyone else could have written or replaced is not one to run with.
    if (options_.trusted_owner) {
      if (auto trusted = safe_path::check_trusted(path, *options_.trusted_owner); !trusted) {
        const std::string why = "refusing to use policy '" + path + "' as root: " + trusted.error().render();
        diagnostics_.push_back(named_by == nullptr ? Diagnostic{Origin{path, 0, 0}, "", why}
                                                   : Diagnostic{named_by->origin, named_by->key, why});
        return;
      }
    }
    std::vector<Diagnostic> file_problems;
    ReadResult read = read_source(path, options_.max_file_bytes, file_problems);
    if (read.open_errno != 0) {
      const std::string why = std::strerror(read.open_errno);
      if (named_by == nullptr) {
        diagnostics_.push_back(Diagnostic{Origin{path, 0, 0}, "", "cannot read policy: " + why});
      } else {
        diagnostics_.push_back(
            Diagnostic{named_by->origin, named_by->key, "cannot read base policy '" + path + "': " + why});
      }
      return;
    }
    const auto identity = read.source.identity;
    for (size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i].second != identity) continue;
      std::string chain;
      for (size_t j = i; j < stack_.size(); ++j) chain += stack_[j].first + " -> ";
      chain += path;
      diagnostics_.push_back(Diagnostic{named_by->origin, named_by->key, "extends cycle: " + chain});
      return;
    }
    if (!visited_.insert(identity).second) return;  // a diamond: applied once, at first sight
    diagnostics_.insert(diagnostics_.end(), file_problems.begin(), file_problems.end());
    if (!read.source.table) return;                  // reported above; its bases are unknowable
    stack_.emplace_back(path, identity);
    visit_bases(path, *read.source.table);
    stack_.pop_back();
    applied_.push_back(Loaded{path, std::move(*read.source.table)});
  }

  [[nodiscard]] std::vector<Loaded>& applied() { return applied_; }

 private:
  void visit_bases(const std::string& path, const toml::table& table) {
    const toml::node* node = table.get("extends");
    if (node == nullptr) return;
    Reader reader(path, diagnostics_, keys_);
    const toml::array* list = reader.array(*node, "extends");
    if (list == nullptr) return;
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    for (size_t i = 0; i < list->size(); ++i) {
      const toml::node& element = (*list)[i];
      const std::string key = index_key("extends", i);
      auto name = reader.string(element, key);
      if (!name) continue;
      if (name->empty()) {
        reader.error(element, key, "empty file name");
        continue;
      }
      const ExtendsEntry entry{reader.at(element), key};
      if (stack_.size() > options_.max_extends_depth) {
        reader.error(element, key,
                     "extends nests deeper than " + std::to_string(options_.max_extends_depth) +
                         " files; flatten the chain");
        continue;
      }
      // Relative paths resolve against the naming file's directory, not the working directory,
      // so a policy means the same thing wherever confine is started. A bare name ("python",
      // "workload-base.toml") is looked for there first, then along the search path.
      std::string base;
      if (name->find('/') == std::string::npos) {
        std::vector<std::string> where{dir.empty() ? std::string(".") : dir.string()};
        where.insert(where.end(), options_.search_path.begin(), options_.search_path.end());
        auto found = find_policy(*name, where);
        if (!found) {
          reader.error(element, key, found.error().message);
          continue;
        }
        base = *found;
      } else {
        std::filesystem::path relative(*name);
        base = (relative.is_relative() ? (dir / relative).lexically_normal() : relative).string();
      }
      visit(base, &entry);
    }
  }

  const LoadOptions& options_;
  std::vector<Diagnostic>& diagnostics_;
  KeyIndex& keys_;
  std::vector<std::pair<std::string, std::pair<dev_t, ino_t>>> stack_;
  std::set<std::pair<dev_t, ino_t>> visited_;
  std::vector<Loaded> applied_;
};

}  // namespace
}  // namespace detail

Expected<std::string> find_policy(const std::string& name, const std::vector<std::string>& search_path) {
  if (name.find('/') != std::string::npos) return name;
  const bool has_suffix = name.size() > 5 && name.compare(name.size() - 5, 5, ".toml") == 0;
  std::string searched;
  for (const std::string& dir : search_path) {
    if (dir.empty()) continue;
    for (const std::string& candidate : {name, has_suffix ? std::string() : name + ".toml"}) {
      if (candidate.empty()) continue;
      const std::string path = dir == "." ? candidate : dir + "/" + candidate;
      // Whatever is there (a FIFO, a device) is the loader's to refuse, with its own message.
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) return path;
    }
    searched += (searched.empty() ? "" : ", ") + dir + (dir.back() == '/' ? "" : "/");
  }
  return fail(ErrorCode::kNotFound,
              "no policy named '" + name + "'" + (has_suffix ? "" : " (or '" + name + ".toml')") + " in " +
                  (searched.empty() ? std::string("an empty search path") : searched),
              "give a path, or put the policy in one of those directories (docs/policy.md, "
              "\"Finding policies by name\")");
}

LoadResult load(const std::string& path, const LoadOptions& options) {
  LoadResult result;
  detail::KeyIndex keys;
  detail::ExtendsWalker walker(options, result.diagnostics, keys);
  walker.visit(path, nullptr);

  Policy policy;
  for (const auto& file : walker.applied()) policy.files.push_back(file.path);
  for (const auto& file : walker.applied()) {
    detail::Reader reader(file.path, result.diagnostics, keys);
    detail::apply_document(file.table, reader, policy);
  }
  detail::finalize(policy, keys, result.diagnostics);
  detail::sort_diagnostics(result.diagnostics);
  if (result.diagnostics.empty()) result.policy = std::move(policy);
  return result;
}

}  // namespace confine::policy
