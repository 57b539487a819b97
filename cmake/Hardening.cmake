# Warnings and hardening applied to every target of ours (not to third-party code).
add_library(confine_flags INTERFACE)
target_compile_options(confine_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wformat=2 -Wimplicit-fallthrough
  # Hardening: stack canaries and clash protection, checked libc calls, control-flow protection.
  -fstack-protector-strong -fstack-clash-protection -fcf-protection
  $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>
  -D_GLIBCXX_ASSERTIONS)
# PIE and full RELRO with immediate binding: the GOT is read-only before main runs. A target
# with the property CONFINE_STATIC_PIE links with -static-pie instead (the confine binary; gcc
# makes a later -pie win over -static-pie, so the two must not both be on the command line).
target_link_options(confine_flags INTERFACE
  $<IF:$<BOOL:$<TARGET_PROPERTY:CONFINE_STATIC_PIE>>,-static-pie,-pie> -Wl,-z,relro,-z,now -Wl,-z,noexecstack)
if(CONFINE_WERROR)
  target_compile_options(confine_flags INTERFACE -Werror)
endif()
# Sanitizers (CONFINE_SANITIZE) are in Sanitizers.cmake: they leave the child library out.
