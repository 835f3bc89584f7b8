# -*- Python -*-
# lit configuration for quant's regression tests (test/).

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".onnxtxt"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qc_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "Conformance", "E2E"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%qc_src_root", config.qc_src_root))
config.substitutions.append(("%qc_obj_root", config.qc_obj_root))
config.substitutions.append(("%{cmake}", config.cmake_command))
config.substitutions.append(("%{cmake_generator}", config.cmake_generator))
config.substitutions.append(("%{cxx}", config.cxx_compiler))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# FileCheck, not, count, split-file come from the LLVM 22 installation; our own
# tools from the build tree.
config.quant_tools_dir = config.qc_tools_dir
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tool_dirs = [config.qc_tools_dir, config.llvm_tools_dir]
tools = ["quant-opt", "quant-translate", "quant-compile", "quant-run"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Python with Debian's python3-onnx, for tests that generate binary models.
config.substitutions.append(("%onnx_python", config.onnx_python))
config.substitutions.append(("%qc_bin", config.qc_tools_dir))
# mlir-runner's support libraries (printMemrefF32), beside LLVM's tools.
config.substitutions.append(("%mlir_runner_libs", ",".join(
    os.path.join(config.llvm_tools_dir, "..", "lib", name)
    for name in ("libmlir_c_runner_utils.so", "libmlir_runner_utils.so"))))
# The CUDA driver without a GPU (runtime/cuda/testing/fake_cuda.c).
config.substitutions.append(("%fake_cuda", os.path.join(
    config.qc_obj_root, "lib", "libquant_fake_cuda.so")))
config.substitutions.append(
    ("%quant_translate_path", os.path.join(config.qc_tools_dir, "quant-translate")))

# ptxas from the CUDA toolkit (the CI image has /usr/local/cuda): tests that
# assemble the PTX of --target=cuda need it and are skipped without it.
import shutil
ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
