# What `cmake --install` and the Debian package ship besides the binary and the policies: man
# pages made from docs/ with pandoc at build time, shell completion, the AppArmor profile for the
# installed binary, and CPack's DEB settings (scripts/package-test.sh builds, installs and tests
# the package).

# --- man pages ------------------------------------------------------------------------------------
# Made from the same Markdown the repository documents itself with, so they cannot drift: confine(1)
# and confine-run(1) from docs/man/, confine-doctor(1) from docs/doctor.md and confine.toml(5) from
# docs/policy.md, each behind a short NAME/SYNOPSIS head. pandoc is Debian's (scripts/deps.sh).
option(CONFINE_MAN_PAGES "Build the man pages from docs/ with pandoc" ON)
set(CONFINE_MAN_OUTPUTS "")
if(CONFINE_MAN_PAGES)
  find_program(PANDOC pandoc)
  find_program(GZIP gzip)
  if(NOT PANDOC OR NOT GZIP)
    message(FATAL_ERROR "the man pages need pandoc and gzip (apt-get install pandoc gzip, as scripts/deps.sh does), "
                        "or configure with -DCONFINE_MAN_PAGES=OFF")
  endif()
  function(confine_man_page name section)
    string(TOUPPER "${name}" title)
    set(page ${PROJECT_BINARY_DIR}/man/${name}.${section})
    set(sources "")
    foreach(source IN LISTS ARGN)
      list(APPEND sources ${PROJECT_SOURCE_DIR}/docs/${source})
    endforeach()
    # No date in the page: the same sources give the same bytes (gzip -n drops the name and time).
    add_custom_command(
      OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${PANDOC} --standalone --to man --metadata title=${title} --metadata section=${section}
              "--metadata=header:confine manual" "--metadata=footer:confine ${PROJECT_VERSION}"
              --output ${page} ${sources}
      COMMAND ${GZIP} -9nf ${page}
      DEPENDS ${sources}
      COMMENT "man page ${name}(${section})"
      VERBATIM)
    set(CONFINE_MAN_OUTPUTS ${CONFINE_MAN_OUTPUTS} ${page}.gz PARENT_SCOPE)
    install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endfunction()
  confine_man_page(confine 1 man/confine.1.md)
  confine_man_page(confine-run 1 man/confine-run.1.md)
  confine_man_page(confine-doctor 1 man/confine-doctor.1.head.md doctor.md)
  confine_man_page(confine-batch 1 man/confine-batch.1.head.md batch.md)
  confine_man_page(confine.toml 5 man/confine.toml.5.head.md policy.md)
  add_custom_target(man_pages ALL DEPENDS ${CONFINE_MAN_OUTPUTS})
endif()

# --- shell completion ------------------------------------------------------------------------------
# Where each shell looks on Debian (zsh's vendor directory is Debian's; others use site-functions).
set(CONFINE_BASH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" CACHE PATH
    "Where bash-completion finds confine's completion")
set(CONFINE_ZSH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions" CACHE PATH
    "Where zsh finds _confine")
set(CONFINE_FISH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d" CACHE PATH
    "Where fish finds confine.fish")
install(FILES packaging/completions/confine.bash DESTINATION ${CONFINE_BASH_COMPLETION_DIR} RENAME confine)
install(FILES packaging/completions/_confine DESTINATION ${CONFINE_ZSH_COMPLETION_DIR})
install(FILES packaging/completions/confine.fish DESTINATION ${CONFINE_FISH_COMPLETION_DIR})

# --- the AppArmor profile ------------------------------------------------------------------------
# Ubuntu 23.10+ lets a program use unprivileged user namespaces only if its AppArmor profile says
# `userns,` (kernel.apparmor_restrict_unprivileged_userns): the profile names the installed binary,
# so it is written when installing, for the prefix of that install (cpack installs under /usr while
# the build tree's default is /usr/local). It goes where AppArmor loads profiles from whatever the
# prefix (DESTDIR still applies). `confine doctor` prints the same profile for a binary that lives
# elsewhere (docs/doctor.md).
install(CODE "
  set(CONFINE_INSTALLED_BINARY \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/confine\")
  configure_file(\"${PROJECT_SOURCE_DIR}/packaging/apparmor/confine.in\"
                 \"${PROJECT_BINARY_DIR}/apparmor/installed/confine\" @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/apparmor/installed/confine DESTINATION ${CONFINE_APPARMOR_DIR})

# --- the Debian package (cpack -G DEB) -----------------------------------------------------------
set(CPACK_PACKAGE_NAME "confine")
set(CPACK_PACKAGE_VENDOR "confine")
set(CPACK_PACKAGE_CONTACT "confine maintainers <confine@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "run untrusted commands in a sandbox described by a TOML policy")
set(CPACK_PACKAGE_DESCRIPTION "confine runs one command as a prefix (like timeout): namespaces, a new root \
with only the paths the policy allows, Landlock, seccomp, no capabilities and cgroup v2 limits, then \
a versioned JSON report with a documented exit code.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # confine_0.1.0_amd64.deb
# The build's debug information stays in the build tree (a RelWithDebInfo binary is 60 MB).
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# The binary is a static PIE except for libc (CMakeLists.txt): glibc of Debian 12 or later.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.36)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "apparmor")
# /etc/apparmor.d/confine is configuration the administrator may edit: dpkg keeps their edits.
file(WRITE ${PROJECT_BINARY_DIR}/packaging/conffiles "${CONFINE_APPARMOR_DIR}/confine\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/packaging/conffiles)
# Only what `cmake --install` installs goes in: the tests, the probe and the benchmarks do not.
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/package)
include(CPack)
