// RUN: quant-opt %s --split-input-file --verify-diagnostics --qc-gpu-fat-binary | FileCheck %s

// Two images (a cubin for sm_90a, PTX for sm_80) become one object whose
// bytes are the container the runtime reads: "QCFATBIN", count 2, then per
// image kind, arch (1090 = sm_90a), offset and size; images 16-byte aligned,
// PTX with its NUL.
// CHECK: gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90a">, bin = "QCFATBIN\02\00\00\00
// kind 0 (cubin), arch 1090 = 0x442, offset 64 = 0x40, size 4:
// CHECK-SAME: \00\00\00\00B\04\00\00@\00\00\00\00\00\00\00\04\00\00\00\00\00\00\00
// kind 1 (PTX), arch 80 = 0x50, offset 80 = 0x50, size 5 (with the NUL):
// CHECK-SAME: \01\00\00\00P\00\00\00P\00\00\00\00\00\00\00\05\00\00\00\00\00\00\00
// CHECK-SAME: CUBI\00\00\00\00\00\00\00\00\00\00\00\00.ptx\00">]
module attributes {gpu.container_module} {
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90a">, bin = "CUBI">,
                       #gpu.object<#nvvm.target<chip = "sm_80">, assembly = ".ptx">]
}

// -----

// Only NVVM targets.
module attributes {gpu.container_module} {
  // expected-error @+1 {{expects #nvvm.target objects with an sm_XY chip}}
  gpu.binary @kernels [#gpu.object<#rocdl.target<chip = "gfx90a">, bin = "x">]
}

// -----

// Only cubin and PTX.
module attributes {gpu.container_module} {
  // expected-error @+1 {{objects must be cubin (format bin) or PTX (format isa)}}
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_80">, offload = "x">]
}
