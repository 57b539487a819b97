// Ubuntu's AppArmor restriction on unprivileged user namespaces, for `confine doctor`: the
// profile confine ships (packaging/apparmor/confine.in, generated into apparmor_template.h) and
// whether this process is held back by the restriction. Pure: the probes that read the label and
// the installed profile are in doctor_probes.cpp.
#include <sstream>
#include <string>

#include "apparmor_template.h"
#include "confine/doctor.h"

namespace confine::doctor {

const char* apparmor_profile_path() { return CONFINE_APPARMOR_PROFILE_PATH; }

std::string apparmor_profile(const std::string& binary) {
  std::string text = kAppArmorTemplate;
  const std::string placeholder = "@CONFINE_INSTALLED_BINARY@";
  for (size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + binary.size())) {
    text.replace(at, placeholder.size(), binary);
  }
  return text;
}

std::string apparmor_attachment(std::string_view profile) {
  std::istringstream in{std::string(profile)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, name, attachment;
    if (words >> keyword >> name >> attachment && keyword == "profile" && name == "confine" &&
        !attachment.empty() && attachment.front() == '/') {
      return attachment;
    }
  }
  return {};
}

bool apparmor_blocks_userns(const HostProbes& host) {
  const auto& restrict = host.apparmor_restrict_unprivileged_userns;
  if (host.euid == 0 || !restrict || *restrict == 0) return false;
  // Any profile decides for itself (ours says `userns,`); unconfined is what the sysctl restricts.
  return host.apparmor_label.empty() || host.apparmor_label == "unconfined";
}

}  // namespace confine::doctor
