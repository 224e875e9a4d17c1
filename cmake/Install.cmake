# Installation, in the GNUInstallDirs places: the sockfault and sockfault-fuzz commands,
# libsockfault.so, the public headers, man pages, bash completion, a CMake package (find_package(SockFault):
# SockFault::shim, SockFault::sockfault, SockFault::fuzz, SOCKFAULT_EXECUTABLE,
# sockfault_add_explore_test, sockfault_add_fuzz_target)
# and sockfault.pc. Included last by the top-level CMakeLists.txt: it names targets that
# the subdirectories define. sockfault-refserver installs itself (harness/refserver/).
include(CMakePackageConfigHelpers)

set(SF_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/SockFault)

# Users see SockFault::shim (libsockfault.so, to preload) and SockFault::sockfault (the command).
set_target_properties(sockfault PROPERTIES EXPORT_NAME shim)
set_target_properties(sockfault-cli PROPERTIES EXPORT_NAME sockfault)
target_include_directories(sockfault INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

install(TARGETS sockfault EXPORT SockFaultTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sockfault)
install(TARGETS sockfault-cli EXPORT SockFaultTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Fault-schedule fuzzing of the users' own targets: <sockfault/fuzz.h>, SockFault::fuzz and
# SockFault::fuzz_main (a replay main() for builds without a fuzzing engine).
install(TARGETS sockfault_fuzz sockfault_fuzz_main EXPORT SockFaultTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# sockfault.h comes with the shim (PUBLIC_HEADER); exit.h documents the command's statuses.
install(FILES ${PROJECT_SOURCE_DIR}/include/sockfault/exit.h
              ${PROJECT_SOURCE_DIR}/include/sockfault/fuzz.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sockfault)

install(EXPORT SockFaultTargets NAMESPACE SockFault:: DESTINATION ${SF_CMAKE_INSTALL_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SockFaultConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/SockFaultConfig.cmake
  INSTALL_DESTINATION ${SF_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_BINDIR CMAKE_INSTALL_DATADIR)
# 0.x: a minor release may change the rule language or the report schema.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/SockFaultConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/SockFaultConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/SockFaultConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/SockFaultExplore.cmake
              ${PROJECT_SOURCE_DIR}/cmake/SockFaultFuzz.cmake
              ${PROJECT_SOURCE_DIR}/cmake/SockFaultFuzzRun.cmake
        DESTINATION ${SF_CMAKE_INSTALL_DIR})
# <sockfault/fuzz.h>'s schedule dictionary and seed schedules (format 1 prefixes).
install(FILES ${PROJECT_SOURCE_DIR}/fuzz/schedule.dict
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sockfault/fuzz)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/corpus/schedules
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sockfault/fuzz)
# sockfault-fuzz, the campaign runner for those targets (scripts/fuzz.sh runs it for sockfault's
# own): told where the shim and the schedule files are from bin/, so a moved prefix still works.
file(RELATIVE_PATH SF_LIBDIR_FROM_BINDIR ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH SF_DATADIR_FROM_BINDIR ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_DATADIR})
configure_file(${PROJECT_SOURCE_DIR}/scripts/sockfault-fuzz ${PROJECT_BINARY_DIR}/scripts/sockfault-fuzz @ONLY)
install(PROGRAMS ${PROJECT_BINARY_DIR}/scripts/sockfault-fuzz DESTINATION ${CMAKE_INSTALL_BINDIR})

# pkg-config: the prefix the tree is installed to, written at install time (so that
# `cmake --install --prefix P` gives P, not the configured prefix), and paths under it with
# no "../.." in them. A tree moved later: pkg-config --define-prefix (pkgconf) relocates it.
set(SF_PC_PREFIX "@SF_PC_PREFIX@") # kept for the install-time pass
configure_file(${PROJECT_SOURCE_DIR}/cmake/sockfault.pc.in
               ${PROJECT_BINARY_DIR}/cmake/sockfault.pc.in @ONLY)
install(CODE "
  set(SF_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/cmake/sockfault.pc.in\"
                 \"${PROJECT_BINARY_DIR}/cmake/sockfault.pc\" @ONLY)
  file(INSTALL \"${PROJECT_BINARY_DIR}/cmake/sockfault.pc\"
       DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")")

# Man pages: sockfault(1) is written by hand; sockfault-rules(7) is generated from the call
# table (docs/CMakeLists.txt, target sockfault-man). Both land in the build tree's man/.
install(FILES ${PROJECT_BINARY_DIR}/man/man1/sockfault.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_BINARY_DIR}/man/man7/sockfault-rules.7
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)

install(FILES ${PROJECT_SOURCE_DIR}/scripts/sockfault.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME sockfault)
