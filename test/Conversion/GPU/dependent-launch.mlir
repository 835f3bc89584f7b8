// RUN: quant-opt %s --split-input-file --qc-gpu-dependent-launch | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-gpu-dependent-launch --qc-gpu-fat-binary | FileCheck %s --check-prefix=FAT

// Every kernel of an sm_90a PTX object begins with the trigger and the
// wait; the object says so in its properties. The sm_80 PTX and the cubin
// are left as they are.
// CHECK-LABEL: gpu.binary @kernels
// CHECK-SAME: #gpu.object<#nvvm.target<chip = "sm_90a">, properties = {qc.dependent_launch}, assembly = ".visible .entry a()\0A{\0A\09griddepcontrol.launch_dependents;\0A\09griddepcontrol.wait;\0A\09ret;\0A}\0A.visible .entry b()\0A{\0A\09griddepcontrol.launch_dependents;\0A\09griddepcontrol.wait;\0A\09ret;\0A}\0A">
// CHECK-SAME: #gpu.object<#nvvm.target<chip = "sm_80">, assembly = ".visible .entry a()\0A{\0A\09ret;\0A}\0A">
// CHECK-SAME: #gpu.object<#nvvm.target<chip = "sm_90">, bin = "CUBI">
// The container gets an entry of kind 2, arch 1090 (sm_90a), size 0,
// before the PTX it describes; none for sm_80 or the cubin.
// FAT: bin = "QCFATBIN\04\00\00\00\02\00\00\00B\04\00\00p\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\01\00\00\00B\04\00\00
// FAT-SAME: \01\00\00\00P\00\00\00{{.*}}\00\00\00\00Z\00\00\00
module attributes {gpu.container_module} {
  gpu.binary @kernels [
    #gpu.object<#nvvm.target<chip = "sm_90a">, assembly = ".visible .entry a()\0A{\0A\09ret;\0A}\0A.visible .entry b()\0A{\0A\09ret;\0A}\0A">,
    #gpu.object<#nvvm.target<chip = "sm_80">, assembly = ".visible .entry a()\0A{\0A\09ret;\0A}\0A">,
    #gpu.object<#nvvm.target<chip = "sm_90">, bin = "CUBI">]
}

// -----

// A kernel that already waits is not given a second wait.
// CHECK-LABEL: gpu.binary @waiting
// CHECK-SAME: assembly = ".visible .entry a()\0A{\0A\09griddepcontrol.wait;\0A\09ret;\0A}\0A"
module attributes {gpu.container_module} {
  gpu.binary @waiting [
    #gpu.object<#nvvm.target<chip = "sm_100">, assembly = ".visible .entry a()\0A{\0A\09griddepcontrol.wait;\0A\09ret;\0A}\0A">]
}

// -----

// A kernel that marks its wait (qc-map-to-gpu's GEMV after its weight
// prefetches): the trigger at the entry, the wait at the mark, the
// prefetch before it; the sm_80 object keeps the mark as a comment.
// CHECK-LABEL: gpu.binary @marked
// CHECK-SAME: assembly = ".visible .entry a()\0A{\0A\09griddepcontrol.launch_dependents;\0A\09prefetch.L2 [%rd1];\0A\09griddepcontrol.wait;\0A\09ret;\0A}\0A.visible .entry b()\0A{\0A\09griddepcontrol.launch_dependents;\0A\09griddepcontrol.wait;\0A\09ret;\0A}\0A"
// CHECK-SAME: assembly = ".visible .entry a()\0A{\0A\09prefetch.L2 [%rd1];\0A\09// qc.dependent_wait\0A\09ret;\0A}\0A"
module attributes {gpu.container_module} {
  gpu.binary @marked [
    #gpu.object<#nvvm.target<chip = "sm_90a">, assembly = ".visible .entry a()\0A{\0A\09prefetch.L2 [%rd1];\0A\09// qc.dependent_wait\0A\09ret;\0A}\0A.visible .entry b()\0A{\0A\09ret;\0A}\0A">,
    #gpu.object<#nvvm.target<chip = "sm_80">, assembly = ".visible .entry a()\0A{\0A\09prefetch.L2 [%rd1];\0A\09// qc.dependent_wait\0A\09ret;\0A}\0A">]
}
