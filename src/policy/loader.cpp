// load(): a policy file and everything it extends, merged and checked in one pass.
//
// Two phases. First the `extends` graph is walked depth-first, reading each file once, so the
// applied order is known before anything is merged (bases first, each file after everything it
// builds on, every file once even when two bases share one). Then each file's table is applied
// in that order, and the whole-policy checks run on the result. Every problem from every file
// is collected; the policy is returned only when there are none.
#include <cstring>
#include <filesystem>
#include <set>

#include "confine/policy.h"
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
      // Relative names resolve against the naming file's directory, not the working directory,
      // so a policy means the same thing wherever confine is started.
      std::filesystem::path base(*name);
      if (base.is_relative()) base = (dir / base).lexically_normal();
      visit(base.string(), &entry);
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
