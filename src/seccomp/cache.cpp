// The compiled-filter cache (docs/seccomp.md, "The filter cache").
//
// A cached filter decides which syscalls every later sandbox may make, so the cache is trusted
// only where nobody but root can write: every directory on the way from / must be owned by root
// and not writable by group or others (a sticky world-writable directory such as /tmp is allowed
// on the way, since nobody else can rename or remove what root made in it), the cache directory
// itself is root's with mode 0700, and every file is opened without following symlinks and
// checked to be a root-owned regular file. The file names its key and carries a SHA-256 of its
// contents, so a torn or stale file is ignored. Anything unexpected means "no cache": the
// filter is then compiled as if there were none.
#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <seccomp.h>
#include <sha2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "confine/fd.h"
#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

constexpr std::string_view kMagic = "confine-seccomp-cache 1\n";
constexpr size_t kMaxFileBytes = 1 << 20;

bool trusted_dir(const struct stat& st, bool allow_sticky_shared) {
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0) return false;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return true;
  return allow_sticky_shared && (st.st_mode & S_ISVTX) != 0;
}

std::string sha256_hex(std::string_view data) {
  char hex[SHA256_DIGEST_STRING_LENGTH];
  SHA256Data(reinterpret_cast<const uint8_t*>(data.data()), data.size(), hex);
  return hex;
}

// The GNU build id of this executable: a rebuilt confine (new compiler code, new built-ins)
// never reuses a filter an older build compiled.
std::string build_id() {
  std::string id;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) -> int {
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
          const auto* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const auto* name = p + sizeof(ElfW(Nhdr));
            const auto* desc = name + ((note->n_namesz + 3) & ~3U);
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              static constexpr char kHex[] = "0123456789abcdef";
              auto& text = *static_cast<std::string*>(out);
              for (uint32_t b = 0; b < note->n_descsz; ++b) {
                text += kHex[desc[b] >> 4];
                text += kHex[desc[b] & 15];
              }
              return 1;
            }
            p = desc + ((note->n_descsz + 3) & ~3U);
          }
        }
        return 1;  // only the executable itself (the first object) is of interest
      },
      &id);
  return id;
}

void append_action(std::string& out, const Action& a) {
  out += std::to_string(static_cast<int>(a.kind));
  out += '/';
  out += std::to_string(a.errno_value);
  if (a.log) out += "/log";
}

}  // namespace

namespace {

// The options' part of a key: compile()'s output depends on every one of them.
void append_options(std::string& text, const CompileOptions& options) {
  text += "\nnotify ";
  text += std::to_string(static_cast<int>(options.notify));
  text += "\nsocket_families";
  for (int f : options.socket_families) text += " " + std::to_string(f);
  // Added with Landlock mode: only when set, so every other key stays what it was.
  if (options.socketpair_families) {
    text += "\nsocketpair_families";
    for (int f : *options.socketpair_families) text += " " + std::to_string(f);
  }
  text += "\nsetid ";
  text += options.deny_setid_modes ? "1" : "0";
  text += "\nfallocate_keep_size ";
  text += options.deny_fallocate_keep_size ? "1" : "0";
  text += "\nunaccounted_memory ";
  text += options.deny_unaccounted_memory ? "1" : "0";
  if (options.deny_path_metadata) text += "\npath_metadata 1";  // only when set: other keys stay
  if (options.only_own_process) text += "\nown_process 1";
  if (options.watch_paths) text += "\nwatch_paths 1";  // only when set: other keys stay as they were
}

}  // namespace

namespace {

// What every key starts with: the build that compiles (its code, its built-in rules and groups)
// and the libseccomp it compiles with.
const std::string& builder() {
  static const std::string text = [] {
    const std::string binary = build_id();
    const scmp_version* v = seccomp_version();
    return std::string("confine " CONFINE_VERSION " build ") + (binary.empty() ? std::string("unknown") : binary) +
           "\nlibseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
  }();
  return text;
}

}  // namespace

std::string FilterCache::key(const Resolved& resolved, const CompileOptions& options, std::string_view kernel_release) {
  // Everything compile() depends on: the rules, the options, and what it is built with and for.
  std::string text = builder();
  text += "\nkernel ";
  text += kernel_release;
  append_options(text, options);
  text += "\ndefault ";
  append_action(text, resolved.default_action);
  for (const auto& [name, action] : resolved.syscalls) {
    text += '\n';
    text += name;
    text += ' ';
    append_action(text, action);
  }
  return sha256_hex(text);
}

std::string FilterCache::section_key(const policy::Policy::Seccomp& section, const CompileOptions& options,
                                     std::string_view context) const {
  if (!sections_ && !dir_) return {};
  // The section as written, every field resolve() reads: its groups expand the same way for the
  // life of this process, and on disk for every process of this build (section_file_key adds the
  // build). Names are length-prefixed, so no name can pass for two.
  std::string text(context);
  text += "\ndefault " + std::to_string(static_cast<int>(section.default_action.value)) + " " +
          std::to_string(section.errno_value.value) + (section.log.value ? " log" : "");
  for (const policy::SeccompRule& rule : section.rules) {
    text += "\nrule " + std::to_string(static_cast<int>(rule.action)) + " " +
            (rule.errno_value ? std::to_string(*rule.errno_value) : std::string("-")) + (rule.log ? " log" : "");
    for (const std::string& name : rule.syscalls) {
      text += ' ';
      text += std::to_string(name.size());
      text += ':';
      text += name;
    }
  }
  append_options(text, options);
  return text;
}

// A section's file on disk: its text names the policy's section as written, not the rules it
// resolves to, so the key adds what resolve() depends on besides the section, the build (its
// groups and built-in rules) and libseccomp; the kernel and the options are in the text. The
// "section" line keeps these keys apart from key()'s.
std::string FilterCache::section_file_key(const std::string& section_key) {
  return sha256_hex("section\n" + builder() + "\n" + section_key);
}

std::optional<Program> FilterCache::recall(const std::string& section_key) const {
  if (section_key.empty()) return std::nullopt;
  if (sections_) {
    if (auto it = sections_->find(section_key); it != sections_->end()) return it->second;
  }
  // `confine run` is one job per process: the disk remembers for it (about 0.3 ms of a run's
  // plan here, resolving the rules and keying them, skipped). load() trusts only root's files.
  if (!dir_) return std::nullopt;
  auto loaded = load(section_file_key(section_key));
  if (loaded && sections_) sections_->insert_or_assign(section_key, *loaded);
  return loaded;
}

void FilterCache::note(const std::string& section_key, const Program& program) const {
  if (section_key.empty()) return;
  if (sections_) sections_->insert_or_assign(section_key, program);
  if (dir_) store(section_file_key(section_key), program);
}

std::optional<FilterCache> FilterCache::open(const std::string& dir) {
  if (::geteuid() != 0 || dir.empty() || dir.front() != '/') return std::nullopt;
  // Walk down from / by descriptor, never following a symlink, checking each directory.
  UniqueFd current(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!current) return std::nullopt;
  struct stat st {};
  if (::fstat(current.get(), &st) != 0 || !trusted_dir(st, true)) return std::nullopt;
  size_t pos = 1;
  while (pos < dir.size()) {
    size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    const std::string part = dir.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    const bool last = pos >= dir.size();
    // Missing directories are created private to root from their first moment. Opened first
    // and created only when missing: every run but the first finds them all.
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd next(::openat(current.get(), part.c_str(), kFlags));
    if (!next && errno == ENOENT) {
      if (::mkdirat(current.get(), part.c_str(), 0700) != 0 && errno != EEXIST) return std::nullopt;
      next.reset(::openat(current.get(), part.c_str(), kFlags));
    }
    if (!next || ::fstat(next.get(), &st) != 0) return std::nullopt;
    if (!trusted_dir(st, !last)) return std::nullopt;
    if (last && (st.st_mode & 07777) != 0700) return std::nullopt;
    current = std::move(next);
  }
  FilterCache cache;
  cache.dir_ = std::make_shared<UniqueFd>(std::move(current));
  return cache;
}

FilterCache FilterCache::in_memory() {
  FilterCache cache;
  cache.remember();
  return cache;
}

void FilterCache::remember() {
  if (!memory_) memory_ = std::make_shared<std::map<std::string, Program>>();
  if (!sections_) sections_ = std::make_shared<std::map<std::string, Program>>();
}

std::optional<Program> FilterCache::load(const std::string& key) const {
  if (memory_) {
    if (auto it = memory_->find(key); it != memory_->end()) return it->second;
  }
  if (!dir_) return std::nullopt;
  UniqueFd fd(::openat(dir_->get(), (key + ".bpf").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
      st.st_size <= 0 || static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<size_t>(n);
  }
  // Layout: magic, "key <key>\n", "sha256 <hex of the rest>\n", then the body:
  // "notify <0|1>\n", "instructions <n>\n", n raw sock_filter structs, "summary <m>\n", m lines.
  std::string_view view(data);
  if (view.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  view.remove_prefix(kMagic.size());
  auto take_line = [&view](std::string_view prefix) -> std::optional<std::string_view> {
    const size_t nl = view.find('\n');
    if (nl == std::string_view::npos || view.substr(0, prefix.size()) != prefix) return std::nullopt;
    const std::string_view value = view.substr(prefix.size(), nl - prefix.size());
    view.remove_prefix(nl + 1);
    return value;
  };
  auto take_count = [&take_line](std::string_view prefix) -> std::optional<size_t> {
    const auto text = take_line(prefix);
    if (!text || text->empty() || text->size() > 7 || text->find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    return static_cast<size_t>(std::stoul(std::string(*text)));
  };
  const auto file_key = take_line("key ");
  if (!file_key || *file_key != key) return std::nullopt;
  const auto digest = take_line("sha256 ");
  if (!digest || *digest != sha256_hex(view)) return std::nullopt;
  const auto notify = take_line("notify ");
  const auto count = take_count("instructions ");
  if (!notify || (*notify != "0" && *notify != "1") || !count || *count == 0 || *count > BPF_MAXINSNS ||
      view.size() < *count * sizeof(sock_filter)) {
    return std::nullopt;
  }
  Program program;
  program.notify = *notify == "1";
  program.instructions.resize(*count);
  std::memcpy(program.instructions.data(), view.data(), *count * sizeof(sock_filter));
  view.remove_prefix(*count * sizeof(sock_filter));
  const auto lines = take_count("summary ");
  if (!lines) return std::nullopt;
  for (size_t i = 0; i < *lines; ++i) {
    const size_t nl = view.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    program.summary.emplace_back(view.substr(0, nl));
    view.remove_prefix(nl + 1);
  }
  if (!view.empty()) return std::nullopt;
  return program;
}

namespace {

// A cache file's name: a 64-digit hex key and ".bpf"; a store's temporary file: ".", the key,
// ".", a pid and ".tmp". trim() touches nothing else in the directory.
bool is_hex_key(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}
bool is_cache_file(std::string_view name) {
  return name.size() == 68 && name.substr(64) == ".bpf" && is_hex_key(name.substr(0, 64));
}
bool is_temporary_file(std::string_view name) {
  if (name.size() < 71 || name[0] != '.' || !is_hex_key(name.substr(1, 64)) || name[65] != '.') return false;
  const std::string_view pid = name.substr(66, name.size() - 70);
  return name.substr(name.size() - 4) == ".tmp" && !pid.empty() &&
         pid.find_first_not_of("0123456789") == std::string_view::npos;
}

// Keeps the directory under FilterCache::kMaxFiles (see seccomp.h). Runs after a store, which
// happens only on a miss, so its directory scan is not on the path of a cached run. Racing
// confines may remove the same file: ENOENT is nothing.
void trim(int dir_fd) {
  const int scan_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (scan_fd < 0) return;
  DIR* dir = ::fdopendir(scan_fd);
  if (dir == nullptr) {
    ::close(scan_fd);
    return;
  }
  struct Entry {
    timespec mtime;
    std::string name;
  };
  std::vector<Entry> files;
  timespec now{};
  (void)::clock_gettime(CLOCK_REALTIME, &now);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    const bool cached = is_cache_file(name);
    if (!cached && !is_temporary_file(name)) continue;
    struct stat st {};
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    if (cached) {
      files.push_back({st.st_mtim, std::string(name)});
    } else if (now.tv_sec - st.st_mtim.tv_sec > 600) {
      (void)::unlinkat(dir_fd, entry->d_name, 0);  // a store that died ten minutes ago and more
    }
  }
  ::closedir(dir);
  if (files.size() <= FilterCache::kMaxFiles) return;
  std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) {
    return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec : a.mtime.tv_nsec < b.mtime.tv_nsec;
  });
  const size_t keep = FilterCache::kMaxFiles * 3 / 4;
  for (size_t i = 0; i + keep < files.size(); ++i) (void)::unlinkat(dir_fd, files[i].name.c_str(), 0);
}

}  // namespace

void FilterCache::store(const std::string& key, const Program& program) const {
  if (memory_) (*memory_)[key] = program;
  if (!dir_) return;
  std::string body;
  body += "notify ";
  body += program.notify ? "1\n" : "0\n";
  body += "instructions " + std::to_string(program.instructions.size()) + "\n";
  body.append(reinterpret_cast<const char*>(program.instructions.data()), program.instructions.size() * sizeof(sock_filter));
  body += "summary " + std::to_string(program.summary.size()) + "\n";
  for (const auto& line : program.summary) {
    if (line.find('\n') != std::string::npos) return;  // cannot be stored; just do not cache
    body += line;
    body += '\n';
  }
  std::string data(kMagic);
  data += "key " + key + "\nsha256 " + sha256_hex(body) + "\n" + body;
  // Written under a private temporary name and renamed into place: a reader sees the whole
  // file or none. Two confines storing the same key write the same bytes.
  const std::string temp = "." + key + "." + std::to_string(::getpid()) + ".tmp";
  UniqueFd fd(::openat(dir_->get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done != data.size() || ::renameat(dir_->get(), temp.c_str(), dir_->get(), (key + ".bpf").c_str()) != 0) {
    (void)::unlinkat(dir_->get(), temp.c_str(), 0);
    return;
  }
  trim(dir_->get());
}

Expected<Program> FilterCache::compile(const Resolved& resolved, const CompileOptions& options,
                                       std::string_view kernel_release) const {
  const std::string k = key(resolved, options, kernel_release);
  if (auto cached = load(k)) {
    if (memory_) memory_->emplace(k, *cached);
    return std::move(*cached);
  }
  auto program = seccomp::compile(resolved, options);
  if (program) store(k, *program);
  return program;
}

}  // namespace confine::seccomp
