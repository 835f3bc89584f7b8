# add_quant_library(name SOURCES... [DEPENDS tablegen-targets...] [LINK_LIBS libs...])
#
# Our libraries are plain static archives (PIC) that link the shared libMLIR.so and
# libLLVM.so through the imported targets `MLIR` and `LLVM`. We do not use
# add_mlir_library: it links the individual static MLIR archives and registers our
# targets in MLIR's own export set, which would both duplicate MLIR's global registries
# next to libMLIR.so and break `find_package(Quant)` for consumers.
#
# Libraries are exported through the QuantTargets export set (see QuantInstall.cmake).
function(add_quant_library name)
  cmake_parse_arguments(ARG "NO_MLIR" "" "SOURCES;DEPENDS;LINK_LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  add_library(Quant::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:include>)
  if(ARG_DEPENDS)
    add_dependencies(${name} ${ARG_DEPENDS})
  endif()
  if(NOT ARG_NO_MLIR)
    target_link_libraries(${name} PUBLIC MLIR LLVM)
  endif()
  if(ARG_LINK_LIBS)
    target_link_libraries(${name} PUBLIC ${ARG_LINK_LIBS})
  endif()
  set_property(GLOBAL APPEND PROPERTY QUANT_EXPORTED_LIBS ${name})
endfunction()
