/*===- quant_cuda.c - the CUDA runtime of compiled GPU models -------------===*
 *
 * Linked into every model compiled with --target=cuda (libquant_cuda.a).
 * It opens libcuda.so.1 with dlopen on first use, so neither the model nor
 * this library has a link-time CUDA dependency, and it contains no LLVM or
 * MLIR: compiled models travel to machines that have only the driver.
 *
 * Two sets of entry points:
 *  - the mgpu* functions that MLIR's gpu-to-llvm lowering and the
 *    gpu.binary translation call (module load, kernel launch, device
 *    allocation, copies); signatures as in upstream MLIR's CUDA wrappers;
 *  - quant_cuda_*: what the generated entry point <name>_run calls around
 *    the model (host <-> device staging of inputs and outputs, one stream per
 *    calling thread, error reporting) and what quant-run uses for timing.
 *
 * Errors never abort: the first failing driver call of a run records the
 * driver's message (thread-local), later mgpu calls of that run do nothing,
 * and quant_cuda_end returns QUANT_ERR_CUDA. See docs/gpu.md and docs/abi.md.
 *
 *===----------------------------------------------------------------------===*/

#include "quant_cuda.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The few driver types we use (ABI-stable since CUDA 4). */
typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef unsigned long long CUdeviceptr;
typedef struct CUmemPoolHandle_st *CUmemoryPool;

enum {
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2,
  CU_MEMORYTYPE_DEVICE = 2,
  CU_MEMORYTYPE_UNIFIED = 4,
  CU_STREAM_NON_BLOCKING = 1,
  CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4,
};

/* The driver functions, resolved by name. */
#define QUANT_CUDA_FUNCTIONS(X)                                                \
  X(cuInit, CUresult, (unsigned))                                              \
  X(cuGetErrorString, CUresult, (CUresult, const char **))                     \
  X(cuGetErrorName, CUresult, (CUresult, const char **))                       \
  X(cuDeviceGetCount, CUresult, (int *))                                       \
  X(cuDeviceGet, CUresult, (CUdevice *, int))                                  \
  X(cuDeviceGetAttribute, CUresult, (int *, int, CUdevice))                    \
  X(cuDevicePrimaryCtxRetain, CUresult, (CUcontext *, CUdevice))               \
  X(cuCtxSetCurrent, CUresult, (CUcontext))                                    \
  X(cuModuleLoadData, CUresult, (CUmodule *, const void *))                    \
  X(cuModuleUnload, CUresult, (CUmodule))                                      \
  X(cuModuleGetFunction, CUresult, (CUfunction *, CUmodule, const char *))     \
  X(cuLaunchKernel, CUresult,                                                  \
    (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,   \
     unsigned, CUstream, void **, void **))                                    \
  X(cuStreamCreate, CUresult, (CUstream *, unsigned))                          \
  X(cuStreamSynchronize, CUresult, (CUstream))                                 \
  X(cuMemAlloc_v2, CUresult, (CUdeviceptr *, size_t))                          \
  X(cuMemFree_v2, CUresult, (CUdeviceptr))                                     \
  X(cuMemAllocAsync, CUresult, (CUdeviceptr *, size_t, CUstream))              \
  X(cuMemFreeAsync, CUresult, (CUdeviceptr, CUstream))                         \
  X(cuMemcpyAsync, CUresult, (CUdeviceptr, CUdeviceptr, size_t, CUstream))     \
  X(cuMemcpyHtoD_v2, CUresult, (CUdeviceptr, const void *, size_t))           \
  X(cuMemsetD32Async, CUresult, (CUdeviceptr, unsigned, size_t, CUstream))     \
  X(cuMemsetD16Async, CUresult,                                                \
    (CUdeviceptr, unsigned short, size_t, CUstream))                           \
  X(cuPointerGetAttributes, CUresult, (unsigned, int *, void **, CUdeviceptr)) \
  X(cuEventCreate, CUresult, (CUevent *, unsigned))                            \
  X(cuEventRecord, CUresult, (CUevent, CUstream))                              \
  X(cuEventSynchronize, CUresult, (CUevent))                                   \
  X(cuEventElapsedTime, CUresult, (float *, CUevent, CUevent))                 \
  X(cuEventDestroy_v2, CUresult, (CUevent))                                    \
  X(cuDeviceGetDefaultMemPool, CUresult, (CUmemoryPool *, CUdevice))           \
  X(cuMemPoolSetAttribute, CUresult, (CUmemoryPool, int, void *))

/* Programmatic dependent launch (optional; CUDA 12 drivers, sm_90+). */
typedef struct {
  int id; /* CUlaunchAttributeID */
  char pad[8 - sizeof(int)];
  union {
    char raw[64];
    void *align;
    int programmaticStreamSerializationAllowed;
  } value;
} CUlaunchAttribute;
typedef struct {
  unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ,
      sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
} CUlaunchConfig;
enum { CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6 };
typedef CUresult (*LaunchKernelEx)(const CUlaunchConfig *, CUfunction,
                                   void **, void **);
static LaunchKernelEx p_cuLaunchKernelEx;

/* CUDA graphs (optional: without them every call runs its launches). */
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;
#define QUANT_CUDA_GRAPH_FUNCTIONS(X)                                          \
  X(cuStreamBeginCapture_v2, CUresult, (CUstream, int))                        \
  X(cuStreamEndCapture, CUresult, (CUstream, CUgraph *))                       \
  X(cuGraphInstantiateWithFlags, CUresult,                                     \
    (CUgraphExec *, CUgraph, unsigned long long))                              \
  X(cuGraphLaunch, CUresult, (CUgraphExec, CUstream))                          \
  X(cuGraphDestroy, CUresult, (CUgraph))                                       \
  X(cuGraphExecDestroy, CUresult, (CUgraphExec))

#define DECLARE(name, ret, args) static ret(*p_##name) args;
QUANT_CUDA_FUNCTIONS(DECLARE)
QUANT_CUDA_GRAPH_FUNCTIONS(DECLARE)
#undef DECLARE
static int graphsAvailable;

/* Process-wide state, set up once. */
static pthread_once_t initOnce = PTHREAD_ONCE_INIT;
static char initError[512];
static CUcontext context;
static int deviceMajor, deviceMinor;

/* Why the last module load failed (loads run in the library's constructor,
 * before any run). */
static char loadError[512];

/* Per-thread state of the current run. */
static __thread CUstream stream;
static __thread int failed;
static __thread char lastError[512];

/* Host buffers staged for the current run (outputs are copied back). */
typedef struct {
  void *host;
  CUdeviceptr device;
  size_t bytes;
  int isOutput;
} Staged;
static __thread Staged *staged;
static __thread size_t stagedCount, stagedCapacity;
/* Set by quant_cuda_time: quant_cuda_end leaves the stream running. */
static __thread int deferSync;
static int profiling;

/* CUDA graphs. A call of a model with static shapes whose inputs and
 * outputs are all device pointers (nothing staged) issues the same work
 * every time it gets the same pointers: the first such call runs as usual
 * (it uploads the weights), the second is captured into a graph (the
 * stream's work recorded, not run) and launched at its end, and later ones
 * only launch that graph: the generated host code still runs, but its
 * launches, allocations and copies do nothing. Per thread (each has its
 * stream), at most kMaxGraphs pointer sets (the oldest is dropped).
 * QUANT_CUDA_GRAPHS=0 turns this off; so does QUANT_CUDA_PROFILE. */
enum { GRAPH_NONE, GRAPH_CAPTURE, GRAPH_REPLAY };
enum { kMaxGraphs = 8, kMaxGraphPointers = 64 };
typedef struct {
  const void *key; /* the model's entry point */
  void *pointers[kMaxGraphPointers];
  size_t count;
  CUgraphExec exec;
  int disabled; /* its capture failed: always run as usual */
} Graph;
static __thread Graph graphs[kMaxGraphs];
static __thread size_t graphCount;
static __thread const void *callKey; /* set for static-shape calls */
static __thread void *callPointers[kMaxGraphPointers];
static __thread size_t callPointerCount;
static __thread int callGraphable;
static __thread Graph *callGraph;
static __thread int graphMode;

/* A feature that the environment variable `name` turns off with "0". */
static int enabledUnlessZero(const char *name) {
  const char *env = getenv(name);
  return !(env && strcmp(env, "0") == 0);
}

static int graphsWanted(void) {
  static int wanted = -1;
  if (wanted < 0)
    wanted = enabledUnlessZero("QUANT_CUDA_GRAPHS");
  return wanted && graphsAvailable && profiling <= 0;
}

static void setError(char *buffer, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(buffer, 512, format, args);
  va_end(args);
}

/* Records the first failure of this thread's run; returns 1 on failure. */
static int check(CUresult rc, const char *what) {
  if (rc == 0)
    return 0;
  if (!failed) {
    const char *name = "?", *text = "unknown error";
    if (p_cuGetErrorName)
      p_cuGetErrorName(rc, &name);
    if (p_cuGetErrorString)
      p_cuGetErrorString(rc, &text);
    setError(lastError, "%s failed: %s (%s, CUresult %d)", what, text, name,
             rc);
  }
  failed = 1;
  return 1;
}

static void initialize(void) {
  const char *library = getenv("QUANT_CUDA_DRIVER");
  if (!library || !*library)
    library = "libcuda.so.1";
  void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    setError(initError,
             "cannot open the CUDA driver %s (%s): this model needs an "
             "NVIDIA GPU and its driver",
             library, dlerror());
    return;
  }
#define RESOLVE(name, ret, args)                                               \
  p_##name = (ret(*) args)dlsym(handle, #name);                                \
  if (!p_##name) {                                                             \
    setError(initError, "the CUDA driver %s lacks %s (driver too old?)",       \
             library, #name);                                                  \
    return;                                                                    \
  }
  QUANT_CUDA_FUNCTIONS(RESOLVE)
#undef RESOLVE
  graphsAvailable = 1;
#define RESOLVE_OPTIONAL(name, ret, args)                                      \
  p_##name = (ret(*) args)dlsym(handle, #name);                                \
  graphsAvailable = graphsAvailable && p_##name;
  QUANT_CUDA_GRAPH_FUNCTIONS(RESOLVE_OPTIONAL)
#undef RESOLVE_OPTIONAL
  p_cuLaunchKernelEx = (LaunchKernelEx)dlsym(handle, "cuLaunchKernelEx");
  const char *what = "cuInit";
  CUresult rc = p_cuInit(0);
  int count = 0, ordinal = 0;
  CUdevice device = 0;
  if (rc == 0) {
    what = "cuDeviceGetCount";
    rc = p_cuDeviceGetCount(&count);
  }
  if (rc == 0) {
    const char *env = getenv("QUANT_CUDA_DEVICE");
    if (env && *env)
      ordinal = atoi(env);
    if (count == 0 || ordinal < 0 || ordinal >= count) {
      setError(initError,
               "no CUDA device %d (the driver sees %d; QUANT_CUDA_DEVICE "
               "chooses one)",
               ordinal, count);
      return;
    }
    what = "cuDeviceGet";
    rc = p_cuDeviceGet(&device, ordinal);
  }
  if (rc == 0) {
    what = "cuDeviceGetAttribute";
    rc = p_cuDeviceGetAttribute(
        &deviceMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  }
  if (rc == 0)
    rc = p_cuDeviceGetAttribute(
        &deviceMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  if (rc == 0) {
    what = "cuDevicePrimaryCtxRetain";
    rc = p_cuDevicePrimaryCtxRetain(&context, device);
  }
  if (rc == 0) {
    /* Keep freed intermediate buffers in the stream-ordered pool across
       calls: by default the pool returns them to the system at every
       synchronisation, and each call then maps fresh memory again. */
    CUmemoryPool pool = NULL;
    unsigned long long keep = ~0ull;
    if (p_cuDeviceGetDefaultMemPool(&pool, device) == 0)
      p_cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep);
  }
  if (rc != 0) {
    const char *text = "unknown error";
    p_cuGetErrorString(rc, &text);
    setError(initError, "%s failed: %s (CUresult %d)", what, text, rc);
    context = NULL;
  }
}

/* Makes the context current on this thread and creates its stream. */
static int ready(void) {
  pthread_once(&initOnce, initialize);
  if (!context) {
    if (!failed)
      setError(lastError, "%s", initError);
    failed = 1;
    return 0;
  }
  if (check(p_cuCtxSetCurrent(context), "cuCtxSetCurrent"))
    return 0;
  if (!stream &&
      check(p_cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate"))
    return 0;
  return 1;
}

/*===--- Module images ----------------------------------------------------===*/

/* A module image is either a plain cubin/PTX, or the container that
 * qc-gpu-fat-binary writes: "QCFATBIN", a little-endian u32 count, then per
 * entry u32 kind (0 cubin, 1 PTX), u32 arch (major*10+minor, +1000 for an
 * 'a' target), u64 offset from the start, u64 size. */
static uint32_t readU32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}
static uint64_t readU64(const unsigned char *p) {
  return (uint64_t)readU32(p) | (uint64_t)readU32(p + 4) << 32;
}

/* The image of `data` to load on this device, or NULL with lastError set;
   *waits: whether its kernels begin by waiting for the kernel before them
   (an entry of kind 2 for its architecture, qc-gpu-dependent-launch). */
static const void *selectImage(const unsigned char *data, int *waits) {
  *waits = 0;
  if (memcmp(data, "QCFATBIN", 8) != 0)
    return data;
  uint32_t count = readU32(data + 8);
  int deviceArch = deviceMajor * 10 + deviceMinor;
  const void *best = NULL;
  int bestScore = -1;
  uint32_t bestArch = 0;
  char archs[256] = "";
  for (uint32_t i = 0; i < count; ++i) {
    const unsigned char *entry = data + 12 + 24 * (size_t)i;
    uint32_t kind = readU32(entry), arch = readU32(entry + 4);
    uint64_t offset = readU64(entry + 8);
    if (kind > 1)
      continue; /* not an image */
    int specific = arch >= 1000; /* sm_90a: this exact architecture only */
    int base = (int)(specific ? arch - 1000 : arch);
    size_t used = strlen(archs);
    snprintf(archs + used, sizeof(archs) - used, "%s%s sm_%d%s",
             used ? "," : "", kind == 0 ? "cubin" : "PTX", base,
             specific ? "a" : "");
    int score = -1;
    if (kind == 0 && base == deviceArch)
      score = 3000 + specific; /* native code for this device */
    else if (kind == 1 && (specific ? base == deviceArch : base <= deviceArch))
      score = 1000 + base; /* PTX, compiled by the driver */
    else if (kind == 0 && !specific && base / 10 == deviceArch / 10 &&
             base <= deviceArch)
      score = 2000 + base; /* cubin of the same major, older minor */
    if (score > bestScore) {
      bestScore = score;
      best = data + offset;
      bestArch = arch;
    }
  }
  for (uint32_t i = 0; best && i < count; ++i) {
    const unsigned char *entry = data + 12 + 24 * (size_t)i;
    if (readU32(entry) == 2 && readU32(entry + 4) == bestArch)
      *waits = 1;
  }
  if (!best && !failed) {
    setError(lastError,
             "no kernel image for this GPU (sm_%d); the model has%s: "
             "recompile with --target=cuda:sm_%d",
             deviceArch, archs, deviceArch);
    failed = 1;
  }
  return best;
}

/*===--- What MLIR's GPU lowering calls -----------------------------------===*/

/* Modules whose kernels wait for the kernel before them: those launch with
   programmatic stream serialization (QUANT_CUDA_PDL=0 turns it off). */
enum { kMaxWaitingModules = 16 };
static void *waitingModules[kMaxWaitingModules];
static pthread_mutex_t waitingLock = PTHREAD_MUTEX_INITIALIZER;

static volatile int dependentLaunchOff; /* the driver refused it once */

static int dependentLaunchWanted(void) {
  static int wanted = -1;
  if (wanted < 0)
    wanted = enabledUnlessZero("QUANT_CUDA_PDL");
  return wanted && !dependentLaunchOff && p_cuLaunchKernelEx &&
         profiling <= 0;
}

static int moduleWaits(void *module) {
  int found = 0;
  pthread_mutex_lock(&waitingLock);
  for (int i = 0; i < kMaxWaitingModules && !found; ++i)
    found = module && waitingModules[i] == module;
  pthread_mutex_unlock(&waitingLock);
  return found;
}

void *mgpuModuleLoad(void *data, size_t size) {
  (void)size;
  if (!ready())
    return NULL;
  int waits = 0;
  const void *image = selectImage((const unsigned char *)data, &waits);
  CUmodule module = NULL;
  if (!image || check(p_cuModuleLoadData(&module, image), "cuModuleLoadData")) {
    memcpy(loadError, lastError, sizeof(loadError));
    return NULL;
  }
  if (waits) {
    pthread_mutex_lock(&waitingLock);
    for (int i = 0; i < kMaxWaitingModules; ++i)
      if (!waitingModules[i]) {
        waitingModules[i] = module;
        break;
      }
    pthread_mutex_unlock(&waitingLock);
  }
  return module;
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  (void)optLevel;
  return mgpuModuleLoad(data, 0);
}

/* Bumped by every unload: cached functions of older generations are stale
   (a later module may reuse the handle). */
static volatile unsigned moduleGeneration;

void mgpuModuleUnload(void *module) {
  __sync_fetch_and_add(&moduleGeneration, 1);
  pthread_mutex_lock(&waitingLock);
  for (int i = 0; i < kMaxWaitingModules; ++i)
    if (waitingModules[i] == module)
      waitingModules[i] = NULL;
  pthread_mutex_unlock(&waitingLock);
  if (module && p_cuModuleUnload)
    p_cuModuleUnload((CUmodule)module);
}

/*===--- QUANT_CUDA_PROFILE=1: per-kernel GPU time, printed at exit --------===*/

typedef struct {
  void *function;
  char name[96];
  unsigned grid, block;
  long calls;
  double milliseconds;
} KernelStats;
static pthread_mutex_t profileLock = PTHREAD_MUTEX_INITIALIZER;
static KernelStats *kernelStats;
static size_t kernelCount, kernelCapacity;
static int profiling = -1;

static int compareStats(const void *a, const void *b) {
  double x = ((const KernelStats *)a)->milliseconds,
         y = ((const KernelStats *)b)->milliseconds;
  return x < y ? 1 : x > y ? -1 : 0;
}

static void printProfile(void) {
  double total = 0;
  qsort(kernelStats, kernelCount, sizeof(KernelStats), compareStats);
  for (size_t i = 0; i < kernelCount; ++i)
    total += kernelStats[i].milliseconds;
  fprintf(stderr, "quant-cuda profile: %zu kernels, %.4f ms in total\n",
          kernelCount, total);
  fprintf(stderr, "%10s %8s %10s %8s %6s  %s\n", "total ms", "calls",
          "ms/call", "blocks", "thr", "kernel");
  for (size_t i = 0; i < kernelCount; ++i) {
    KernelStats *k = &kernelStats[i];
    fprintf(stderr, "%10.4f %8ld %10.5f %8u %6u  %s\n", k->milliseconds,
            k->calls, k->milliseconds / (double)k->calls, k->grid, k->block,
            k->name);
  }
}

static KernelStats *statsFor(void *function) {
  for (size_t i = 0; i < kernelCount; ++i)
    if (kernelStats[i].function == function)
      return &kernelStats[i];
  if (kernelCount == kernelCapacity) {
    size_t capacity = kernelCapacity ? 2 * kernelCapacity : 64;
    KernelStats *grown =
        (KernelStats *)realloc(kernelStats, capacity * sizeof(KernelStats));
    if (!grown)
      return NULL;
    kernelStats = grown;
    kernelCapacity = capacity;
  }
  KernelStats *k = &kernelStats[kernelCount++];
  memset(k, 0, sizeof(*k));
  k->function = function;
  return k;
}

static void nameKernel(void *function, const char *name) {
  if (profiling < 0) {
    const char *env = getenv("QUANT_CUDA_PROFILE");
    profiling = env && *env && strcmp(env, "0") != 0;
    if (profiling)
      atexit(printProfile);
  }
  if (!profiling || !function)
    return;
  pthread_mutex_lock(&profileLock);
  KernelStats *k = statsFor(function);
  if (k)
    snprintf(k->name, sizeof(k->name), "%s", name);
  pthread_mutex_unlock(&profileLock);
}

/* The function mgpuModuleGetFunction returned last on this thread (the
   lowering asks for it just before each launch), and whether its module's
   kernels wait for their predecessor. */
static __thread void *lastFunction;
static __thread int lastFunctionWaits;

void *mgpuModuleGetFunction(void *module, const char *name) {
  CUfunction function = NULL;
  if (!module) {
    /* The module failed to load (at library load time, on another thread):
       say so on this one. */
    if (!failed) {
      pthread_once(&initOnce, initialize);
      setError(lastError, "the model's GPU code was not loaded: %s",
               initError[0]   ? initError
               : loadError[0] ? loadError
                              : "unknown reason");
    }
    failed = 1;
    return NULL;
  }
  if (failed)
    return NULL;
  /* The lowering asks for the function at every launch; the driver's lookup
     by name is cached per thread, keyed by the module and the name's
     address (a constant string of the model). */
  enum { kCache = 64 };
  static __thread struct {
    void *module;
    const char *name;
    unsigned generation;
    CUfunction function;
    int waits;
  } cache[kCache];
  size_t slot = (((uintptr_t)module >> 4) ^ ((uintptr_t)name >> 3)) % kCache;
  unsigned generation = moduleGeneration;
  if (cache[slot].module == module && cache[slot].name == name &&
      cache[slot].generation == generation) {
    lastFunction = cache[slot].function;
    lastFunctionWaits = cache[slot].waits;
    return cache[slot].function;
  }
  if (check(p_cuModuleGetFunction(&function, (CUmodule)module, name),
            "cuModuleGetFunction"))
    return NULL;
  nameKernel(function, name);
  cache[slot].module = module;
  cache[slot].name = name;
  cache[slot].generation = generation;
  cache[slot].function = function;
  cache[slot].waits = moduleWaits(module);
  lastFunction = function;
  lastFunctionWaits = cache[slot].waits;
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *launchStream,
                      void **params, void **extra, size_t paramsCount) {
  (void)paramsCount;
  if (failed || !function || graphMode == GRAPH_REPLAY)
    return;
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0) /* an empty tensor */
    return;
  CUevent start = NULL, stop = NULL;
  if (profiling > 0) {
    /* Serialises the run: each kernel is timed alone. */
    p_cuEventCreate(&start, 0);
    p_cuEventCreate(&stop, 0);
    p_cuEventRecord(start, (CUstream)launchStream);
  }
  int launched = 0;
  if (function == lastFunction && lastFunctionWaits &&
      dependentLaunchWanted()) {
    /* The kernel waits for its predecessor itself (griddepcontrol.wait):
       its launch may overlap the predecessor's end. */
    CUlaunchAttribute attribute;
    memset(&attribute, 0, sizeof(attribute));
    attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attribute.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config = {(unsigned)gridX,  (unsigned)gridY,
                             (unsigned)gridZ,  (unsigned)blockX,
                             (unsigned)blockY, (unsigned)blockZ,
                             (unsigned)smem,   (CUstream)launchStream,
                             &attribute,       1};
    launched =
        p_cuLaunchKernelEx(&config, (CUfunction)function, params, extra) == 0;
    /* Not accepted: launch the usual way from now on (the kernels' waits
       then return at once). */
    if (!launched)
      dependentLaunchOff = 1;
  }
  if (!launched)
    check(p_cuLaunchKernel((CUfunction)function, (unsigned)gridX,
                           (unsigned)gridY, (unsigned)gridZ, (unsigned)blockX,
                           (unsigned)blockY, (unsigned)blockZ, (unsigned)smem,
                           (CUstream)launchStream, params, extra),
          "cuLaunchKernel");
  if (profiling > 0) {
    float ms = 0;
    p_cuEventRecord(stop, (CUstream)launchStream);
    p_cuEventSynchronize(stop);
    p_cuEventElapsedTime(&ms, start, stop);
    p_cuEventDestroy_v2(start);
    p_cuEventDestroy_v2(stop);
    pthread_mutex_lock(&profileLock);
    KernelStats *k = statsFor(function);
    if (k) {
      k->calls += 1;
      k->milliseconds += ms;
      k->grid = (unsigned)(gridX * gridY * gridZ);
      k->block = (unsigned)(blockX * blockY * blockZ);
    }
    pthread_mutex_unlock(&profileLock);
  }
}

/* Every launch of a run goes to the calling thread's stream, in order; the
 * host never reads device memory in between, so the per-launch
 * synchronisation the lowering emits is not needed: quant_cuda_end waits. */
/* The first thing a model's body does: all its inputs and outputs are
 * known, so this is where a call is replayed, captured or run as usual. */
void *mgpuStreamCreate(void) {
  if (!failed && !stream)
    ready();
  graphMode = GRAPH_NONE;
  callGraph = NULL;
  if (failed || !callGraphable || !graphsWanted())
    return stream;
  callGraphable = 0;
  Graph *g = NULL;
  for (size_t i = 0; i < graphCount && !g; ++i)
    if (graphs[i].key == callKey && graphs[i].count == callPointerCount &&
        memcmp(graphs[i].pointers, callPointers,
               callPointerCount * sizeof(void *)) == 0)
      g = &graphs[i];
  if (!g) {
    /* First call with these pointers: run as usual (it uploads the
       weights, which a capture must not do). */
    if (graphCount == kMaxGraphs) {
      if (graphs[0].exec)
        p_cuGraphExecDestroy(graphs[0].exec);
      memmove(&graphs[0], &graphs[1], (kMaxGraphs - 1) * sizeof(Graph));
      --graphCount;
    }
    g = &graphs[graphCount++];
    memset(g, 0, sizeof(Graph));
    g->key = callKey;
    g->count = callPointerCount;
    memcpy(g->pointers, callPointers, callPointerCount * sizeof(void *));
    return stream;
  }
  if (g->exec) {
    /* Launched now, before the host code walks the call (whose launches,
       allocations and copies then do nothing): that walk overlaps the
       GPU's work instead of delaying it. */
    graphMode = GRAPH_REPLAY;
    check(p_cuGraphLaunch(g->exec, stream), "cuGraphLaunch");
  } else if (!g->disabled) {
    /* Relaxed: the weights' lookups may call the driver meanwhile. */
    if (p_cuStreamBeginCapture_v2(stream, 2 /* RELAXED */) == 0)
      graphMode = GRAPH_CAPTURE;
    else
      g->disabled = 1;
  }
  callGraph = g;
  return stream;
}
void mgpuStreamDestroy(void *s) { (void)s; }
void mgpuStreamSynchronize(void *s) { (void)s; }

void *mgpuMemAlloc(uint64_t bytes, void *allocStream, bool isHostShared) {
  (void)allocStream;
  (void)isHostShared;
  CUdeviceptr ptr = 0;
  if (failed || bytes == 0)
    return NULL;
  if (graphMode == GRAPH_REPLAY) /* not used: the graph has its own */
    return (void *)(uintptr_t)256;
  if (!stream && !ready())
    return NULL;
  check(p_cuMemAllocAsync(&ptr, bytes, stream), "cuMemAllocAsync");
  return (void *)(uintptr_t)ptr;
}

void mgpuMemFree(void *ptr, void *freeStream) {
  (void)freeStream;
  if (ptr && stream && p_cuMemFreeAsync && graphMode != GRAPH_REPLAY)
    p_cuMemFreeAsync((CUdeviceptr)(uintptr_t)ptr, stream);
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, void *copyStream) {
  (void)copyStream;
  if (failed || bytes == 0 || graphMode == GRAPH_REPLAY)
    return;
  check(p_cuMemcpyAsync((CUdeviceptr)(uintptr_t)dst,
                        (CUdeviceptr)(uintptr_t)src, bytes, stream),
        "cuMemcpyAsync");
}

void mgpuMemset32(void *dst, unsigned value, size_t count, void *setStream) {
  (void)setStream;
  if (failed || count == 0 || graphMode == GRAPH_REPLAY)
    return;
  check(p_cuMemsetD32Async((CUdeviceptr)(uintptr_t)dst, value, count, stream),
        "cuMemsetD32Async");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  void *setStream) {
  (void)setStream;
  if (failed || count == 0 || graphMode == GRAPH_REPLAY)
    return;
  check(p_cuMemsetD16Async((CUdeviceptr)(uintptr_t)dst, value, count, stream),
        "cuMemsetD16Async");
}

/*===--- What the generated entry point calls -----------------------------===*/

static int isDevicePointer(const void *p) {
  /* The plural query reports memory the driver does not know (ordinary host
     memory) as type 0 instead of failing. */
  int attribute = CU_POINTER_ATTRIBUTE_MEMORY_TYPE;
  unsigned type = 0;
  void *data[1] = {&type};
  if (p_cuPointerGetAttributes(1, &attribute, data,
                               (CUdeviceptr)(uintptr_t)p) != 0)
    return 0;
  return type == CU_MEMORYTYPE_DEVICE || type == CU_MEMORYTYPE_UNIFIED;
}

static void releaseStaged(void) {
  for (size_t i = 0; i < stagedCount; ++i)
    if (staged[i].device)
      p_cuMemFreeAsync(staged[i].device, stream);
  stagedCount = 0;
}

int32_t quant_cuda_begin(void) {
  failed = 0;
  lastError[0] = 0;
  stagedCount = 0;
  callGraphable = 0;
  callPointerCount = 0;
  graphMode = GRAPH_NONE;
  return ready() ? QUANT_OK : QUANT_ERR_CUDA;
}

/* The same, from the entry point of a model with static shapes: the call
 * may run as a CUDA graph (keyed by the entry point that calls this). */
int32_t quant_cuda_begin_static(void) {
  int32_t rc = quant_cuda_begin();
  callKey = __builtin_return_address(0);
  callGraphable = rc == QUANT_OK;
  return rc;
}

static void *stage(void *host, int64_t bytes, int isOutput) {
  if (failed)
    return host;
  /* A caller's device buffer is used in place when it is 16-byte aligned
     (the kernels may read it in 128-bit loads); otherwise it is copied like
     a host buffer (cuMemcpyAsync takes either kind of address). */
  if (((uintptr_t)host % 16) == 0 && isDevicePointer(host)) {
    if (callPointerCount < kMaxGraphPointers)
      callPointers[callPointerCount++] = host;
    else
      callGraphable = 0;
    return host;
  }
  callGraphable = 0; /* a staged host buffer: its copies are not replayed */
  if (stagedCount == stagedCapacity) {
    size_t capacity = stagedCapacity ? 2 * stagedCapacity : 16;
    Staged *grown = (Staged *)realloc(staged, capacity * sizeof(Staged));
    if (!grown) {
      setError(lastError, "out of host memory staging the inputs");
      failed = 1;
      return host;
    }
    staged = grown;
    stagedCapacity = capacity;
  }
  Staged *s = &staged[stagedCount];
  s->host = host;
  s->device = 0;
  s->bytes = (size_t)bytes;
  s->isOutput = isOutput;
  if (bytes > 0 &&
      check(p_cuMemAllocAsync(&s->device, (size_t)bytes, stream),
            "cuMemAllocAsync"))
    return host;
  ++stagedCount;
  if (!isOutput && bytes > 0)
    check(p_cuMemcpyAsync(s->device, (CUdeviceptr)(uintptr_t)host,
                          (size_t)bytes, stream),
          "cuMemcpyAsync (input to the GPU)");
  return (void *)(uintptr_t)s->device;
}

void *quant_cuda_input(void *host, int64_t bytes) {
  return stage(host, bytes, 0);
}

void *quant_cuda_output(void *host, int64_t bytes) {
  return stage(host, bytes, 1);
}

/* Ends a capture (instantiating the graph) and launches the graph it
 * made (a replay's graph was launched at the call's start); returns 1 on
 * failure. */
static int finishGraph(void) {
  if (graphMode == GRAPH_CAPTURE) {
    CUgraph graph = NULL;
    CUresult rc = p_cuStreamEndCapture(stream, &graph);
    CUgraphExec exec = NULL;
    if (!failed && rc == 0 && graph &&
        p_cuGraphInstantiateWithFlags(&exec, graph, 0) == 0)
      callGraph->exec = exec;
    else
      callGraph->disabled = 1;
    if (graph)
      p_cuGraphDestroy(graph);
    if (!failed && !exec) {
      /* The call's work was recorded, not run. */
      setError(lastError,
               "capturing the call as a CUDA graph failed (CUresult %d); "
               "QUANT_CUDA_GRAPHS=0 turns graphs off, and the next call runs "
               "without one",
               (int)rc);
      failed = 1;
    }
  }
  if (!failed && callGraph && callGraph->exec && graphMode == GRAPH_CAPTURE)
    check(p_cuGraphLaunch(callGraph->exec, stream), "cuGraphLaunch");
  graphMode = GRAPH_NONE;
  callGraph = NULL;
  return failed;
}

int32_t quant_cuda_end(void) {
  finishGraph();
  if (!failed)
    for (size_t i = 0; i < stagedCount; ++i)
      if (staged[i].isOutput && staged[i].bytes > 0 &&
          check(p_cuMemcpyAsync((CUdeviceptr)(uintptr_t)staged[i].host,
                                staged[i].device, staged[i].bytes, stream),
                "cuMemcpyAsync (output to the host)"))
        break;
  if (stream) {
    releaseStaged();
    if (!deferSync)
      check(p_cuStreamSynchronize(stream), "running the model's kernels");
  }
  return failed ? QUANT_ERR_CUDA : QUANT_OK;
}

/* Constants (weights) are uploaded once per process, on first use, and keyed
 * by their address in the model's read-only data (or, with --weights-file,
 * in the mapping of the loaded file). */
typedef struct {
  const void *host;
  CUdeviceptr device;
} Upload;
static pthread_mutex_t uploadLock = PTHREAD_MUTEX_INITIALIZER;
static Upload *uploads;
static size_t uploadCount, uploadCapacity;

void *quant_cuda_global(const void *host, int64_t bytes) {
  if (failed)
    return NULL;
  pthread_mutex_lock(&uploadLock);
  CUdeviceptr device = 0;
  for (size_t i = 0; i < uploadCount; ++i)
    if (uploads[i].host == host) {
      device = uploads[i].device;
      break;
    }
  if (!device && bytes > 0) {
    if (uploadCount == uploadCapacity) {
      size_t capacity = uploadCapacity ? 2 * uploadCapacity : 64;
      Upload *grown = (Upload *)realloc(uploads, capacity * sizeof(Upload));
      if (!grown) {
        pthread_mutex_unlock(&uploadLock);
        setError(lastError, "out of host memory recording the weights");
        failed = 1;
        return NULL;
      }
      uploads = grown;
      uploadCapacity = capacity;
    }
    if (!check(p_cuMemAlloc_v2(&device, (size_t)bytes), "cuMemAlloc (weights)")) {
      if (check(p_cuMemcpyHtoD_v2(device, host, (size_t)bytes),
                "cuMemcpyHtoD (weights)")) {
        p_cuMemFree_v2(device);
        device = 0;
      } else {
        uploads[uploadCount].host = host;
        uploads[uploadCount].device = device;
        ++uploadCount;
      }
    }
  }
  pthread_mutex_unlock(&uploadLock);
  return (void *)(uintptr_t)device;
}

const char *quant_cuda_last_error(void) {
  return lastError[0] ? lastError : NULL;
}

/*===--- For quant-run and other hosts ------------------------------------===*/

void *quant_cuda_malloc(int64_t bytes) {
  CUdeviceptr ptr = 0;
  failed = 0;
  if (!ready() || check(p_cuMemAlloc_v2(&ptr, (size_t)bytes), "cuMemAlloc"))
    return NULL;
  return (void *)(uintptr_t)ptr;
}

void quant_cuda_free(void *device) {
  if (device && p_cuMemFree_v2)
    p_cuMemFree_v2((CUdeviceptr)(uintptr_t)device);
}

int32_t quant_cuda_copy(void *dst, const void *src, int64_t bytes) {
  failed = 0;
  if (!ready() ||
      check(p_cuMemcpyAsync((CUdeviceptr)(uintptr_t)dst,
                            (CUdeviceptr)(uintptr_t)src, (size_t)bytes, stream),
            "cuMemcpyAsync") ||
      check(p_cuStreamSynchronize(stream), "cuStreamSynchronize"))
    return QUANT_ERR_CUDA;
  return QUANT_OK;
}

/* The L2 flush's reader: every thread loads 16 bytes of the scratch
   (ld.global.cg: through L2, not L1) and stores only if their XOR has a
   value the 0x5a5a5a5a fill never gives, so the loads are not dead code.
   PTX, compiled by the driver when first needed; NULL if that fails. */
static const char flushPtx[] =
    ".version 6.0\n"
    ".target sm_50\n"
    ".address_size 64\n"
    ".visible .entry quant_l2_flush(.param .u64 base, .param .u64 count) {\n"
    "  .reg .pred %p<3>;\n"
    "  .reg .b32 %r<12>;\n"
    "  .reg .b64 %rd<8>;\n"
    "  ld.param.u64 %rd1, [base];\n"
    "  ld.param.u64 %rd2, [count];\n"
    "  mov.u32 %r1, %ctaid.x;\n"
    "  mov.u32 %r2, %ntid.x;\n"
    "  mov.u32 %r3, %tid.x;\n"
    "  mul.wide.u32 %rd3, %r1, %r2;\n"
    "  cvt.u64.u32 %rd4, %r3;\n"
    "  add.u64 %rd3, %rd3, %rd4;\n"
    "  setp.ge.u64 %p1, %rd3, %rd2;\n"
    "  @%p1 ret;\n"
    "  shl.b64 %rd5, %rd3, 4;\n"
    "  add.u64 %rd6, %rd1, %rd5;\n"
    "  ld.global.cg.v4.u32 {%r4, %r5, %r6, %r7}, [%rd6];\n"
    "  xor.b32 %r8, %r4, %r5;\n"
    "  xor.b32 %r9, %r6, %r7;\n"
    "  xor.b32 %r10, %r8, %r9;\n"
    "  setp.eq.u32 %p2, %r10, 0x1d2c3b4a;\n"
    "  @%p2 st.global.u32 [%rd1], %r10;\n"
    "  ret;\n"
    "}\n";

static CUfunction flushReader(void) {
  static CUmodule module;
  static CUfunction function;
  static int tried;
  if (!tried) {
    tried = 1;
    if (p_cuModuleLoadData(&module, flushPtx) != 0 ||
        p_cuModuleGetFunction(&function, module, "quant_l2_flush") != 0)
      function = NULL;
  }
  return function;
}

int32_t quant_cuda_time(int32_t (*run)(void *), void *arg, int32_t count,
                        int64_t flushBytes, float *milliseconds) {
  int32_t rc = QUANT_OK;
  failed = 0;
  if (count <= 0)
    return QUANT_OK;
  if (!ready())
    return QUANT_ERR_CUDA;
  CUevent *events = (CUevent *)calloc(2 * (size_t)count, sizeof(CUevent));
  if (!events) {
    setError(lastError, "out of host memory for the timing events");
    return QUANT_ERR_CUDA;
  }
  for (int32_t i = 0; i < 2 * count; ++i)
    if (check(p_cuEventCreate(&events[i], 0), "cuEventCreate"))
      break;
  static CUdeviceptr scratch;
  static int64_t scratchBytes;
  if (!failed && flushBytes > 0 && scratchBytes < flushBytes) {
    if (scratch)
      p_cuMemFree_v2(scratch);
    scratch = 0;
    scratchBytes = 0;
    if (!check(p_cuMemAlloc_v2(&scratch, (size_t)flushBytes),
               "cuMemAlloc (L2 flush)") &&
        !check(p_cuMemsetD32Async(scratch, 0x5a5a5a5a, (size_t)flushBytes / 4,
                                  stream),
               "cuMemsetD32Async (L2 flush)"))
      scratchBytes = flushBytes;
  }
  CUfunction reader = flushBytes > 0 ? flushReader() : NULL;
  /* The calls are queued back to back (quant_cuda_end does not wait while
     deferSync is set), so each pair of events brackets the GPU's work for
     one call, not the host's time to issue it; only the last event is
     waited for. */
  for (int32_t i = 0; i < count && rc == QUANT_OK && !failed; ++i) {
    if (flushBytes > 0 && scratch) {
      /* Replace the L2 cache's contents (outside the events): no data of
         the model stays cached from the previous call. Reading the scratch
         leaves only clean lines, which the call evicts for free; writing
         it (the fallback when the reader does not load) leaves dirty ones,
         whose write-back the call would pay (about 10 us on an H100). */
      if (reader) {
        CUdeviceptr base = scratch;
        unsigned long long vectors = (unsigned long long)flushBytes / 16;
        void *params[] = {&base, &vectors};
        check(p_cuLaunchKernel(reader, (unsigned)((vectors + 255) / 256), 1, 1,
                               256, 1, 1, 0, stream, params, NULL),
              "cuLaunchKernel (L2 flush)");
      } else {
        check(p_cuMemsetD32Async(scratch, 0x5a5a5a5a, (size_t)flushBytes / 4,
                                 stream),
              "cuMemsetD32Async (L2 flush)");
      }
    }
    check(p_cuEventRecord(events[2 * i], stream), "cuEventRecord");
    deferSync = 1;
    rc = run(arg);
    deferSync = 0;
    check(p_cuEventRecord(events[2 * i + 1], stream), "cuEventRecord");
  }
  if (rc == QUANT_OK && !failed &&
      !check(p_cuEventSynchronize(events[2 * count - 1]),
             "running the timed calls"))
    for (int32_t i = 0; i < count && !failed; ++i)
      check(p_cuEventElapsedTime(&milliseconds[i], events[2 * i],
                                 events[2 * i + 1]),
            "cuEventElapsedTime");
  if (rc != QUANT_OK || failed)
    p_cuStreamSynchronize(stream); /* no call left running */
  for (int32_t i = 0; i < 2 * count; ++i)
    if (events[i])
      p_cuEventDestroy_v2(events[i]);
  free(events);
  if (rc != QUANT_OK)
    return rc;
  return failed ? QUANT_ERR_CUDA : QUANT_OK;
}
