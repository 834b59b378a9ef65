# loom_extension(<target> SOURCES ... [LIBS ...] [NO_INSTALL]) — an extension library (DESIGN.md
# §6): a MODULE linking loom::extension_sdk and exporting only loom_create_extensions, built with
# -fno-gnu-unique (GCC; so that it can really be unloaded — the loader refuses STB_GNU_UNIQUE
# symbols), hidden visibility, Loom's libraries never embedded (--exclude-libs) and every symbol
# resolved at link time (--no-undefined); installed to <libdir>/loom/extensions unless NO_INSTALL.
#
# One definition for both uses: Loom's own tree includes this file from LoomTargets.cmake, and
# the installed package (lib/cmake/Loom) includes it from LoomConfig.cmake, so a project that
# calls find_package(Loom) gets the same function. In the tree it also applies Loom's warnings.
include_guard(GLOBAL)
include(GNUInstallDirs)

function(loom_extension target)
  cmake_parse_arguments(E "NO_INSTALL" "" "SOURCES;LIBS" ${ARGN})
  if(E_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "loom_extension(${target}): unexpected arguments ${E_UNPARSED_ARGUMENTS}")
  endif()
  add_library(${target} MODULE ${E_SOURCES})
  target_link_libraries(${target} PRIVATE loom::extension_sdk ${E_LIBS})
  # Installed to lib/loom/extensions: Loom's libraries are two levels up (an installed package
  # also names its own library folder, for an extension installed elsewhere).
  set(rpath "$ORIGIN/../..")
  if(LOOM_PACKAGE_LIBRARY_DIR)
    list(APPEND rpath "${LOOM_PACKAGE_LIBRARY_DIR}")
  endif()
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON PREFIX "lib" INSTALL_RPATH "${rpath}")
  target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
  if(NOT DEFINED LOOM_NO_UNDEFINED)
    set(LOOM_NO_UNDEFINED -Wl,--no-undefined)
  endif()
  target_link_options(${target} PRIVATE -Wl,--exclude-libs,ALL ${LOOM_NO_UNDEFINED})
  if(COMMAND loom_warnings)
    loom_warnings(${target})
  endif()
  if(NOT E_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/loom/extensions)
  endif()
endfunction()
