# `cmake --install` lays out headers, libraries, tools and a CMake package:
#   <prefix>/include/qc/...            headers, .td files and generated .inc files
#   <prefix>/lib/libQC*.a ...          static libraries (PIC)
#   <prefix>/bin/quant-opt
#   <prefix>/lib/cmake/Quant/          QuantConfig.cmake, QuantTargets.cmake
# A consumer writes `find_package(Quant CONFIG)` and links `Quant::QCDialect`,
# `Quant::QCTransforms`, `Quant::QuantInitAll` or `Quant::QuantNumerics`.
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

get_property(quant_libs GLOBAL PROPERTY QUANT_EXPORTED_LIBS)
install(TARGETS ${quant_libs} EXPORT QuantTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS quant-opt quant-translate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/qc
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/qc
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.inc")

set(QUANT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Quant)
install(EXPORT QuantTargets NAMESPACE Quant:: DESTINATION ${QUANT_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/QuantConfig.cmake.in
  ${PROJECT_BINARY_DIR}/QuantConfig.cmake
  INSTALL_DESTINATION ${QUANT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/QuantConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/QuantConfig.cmake
  ${PROJECT_BINARY_DIR}/QuantConfigVersion.cmake
  DESTINATION ${QUANT_CMAKE_DIR})
