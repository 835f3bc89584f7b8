# QuantMLIR: what code built against libMLIR.so/libLLVM.so needs, as one interface
# target that our libraries link and export: the shared libraries, their
# include directories (the imported MLIR target carries none), LLVM's
# definitions, and -fno-rtti when LLVM was built without RTTI (Debian's is), so
# that consumers do not reference typeinfo libMLIR.so does not export.
add_library(QuantMLIR INTERFACE)
add_library(Quant::QuantMLIR ALIAS QuantMLIR)
target_link_libraries(QuantMLIR INTERFACE MLIR LLVM)
target_include_directories(QuantMLIR SYSTEM INTERFACE
  ${MLIR_INCLUDE_DIRS} ${LLVM_INCLUDE_DIRS})
separate_arguments(_quant_llvm_defs NATIVE_COMMAND "${LLVM_DEFINITIONS}")
list(TRANSFORM _quant_llvm_defs REPLACE "^-D" "")
target_compile_definitions(QuantMLIR INTERFACE ${_quant_llvm_defs})
if(NOT LLVM_ENABLE_RTTI)
  target_compile_options(QuantMLIR INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fno-rtti>)
endif()
set_property(GLOBAL APPEND PROPERTY QUANT_EXPORTED_LIBS QuantMLIR)

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
    target_link_libraries(${name} PUBLIC QuantMLIR)
  endif()
  if(ARG_LINK_LIBS)
    target_link_libraries(${name} PUBLIC ${ARG_LINK_LIBS})
  endif()
  set_property(GLOBAL APPEND PROPERTY QUANT_EXPORTED_LIBS ${name})
endfunction()
