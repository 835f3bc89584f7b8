/*===- fake_cuda.c - a CUDA driver without a GPU, for the runtime's tests -===*
 *
 * Loaded by quant's CUDA runtime in place of libcuda.so.1
 * (QUANT_CUDA_DRIVER=path/to/libquant_fake_cuda.so). It runs no kernel:
 * device memory is host memory, copies and fills are done, launches are only
 * counted. What it is for: the runtime's own work without a GPU, the uploads
 * of the weights (how many, how many bytes, and an order-independent
 * checksum of their contents), the choice of the module image, the launches
 * with and without the dependent-launch attribute, and the errors.
 *
 * At exit it prints one line to stderr:
 *   fake-cuda: uploads N bytes B checksum C launches L dependent D
 *   modules M frees F graphs G graph-launches R
 * where the uploads are cuMemcpyHtoD_v2 calls (the runtime's weight
 * uploads) and the checksum sums a 64-bit FNV-1a hash of each upload's bytes.
 *
 * Environment: FAKE_CUDA_CC (compute capability as major*10+minor, default
 * 90), FAKE_CUDA_DEVICES (default 1), FAKE_CUDA_FAIL (a function name: that
 * function returns CUDA_ERROR_OUT_OF_MEMORY, 2), FAKE_CUDA_GRAPHS=1 (stream
 * captures succeed: the work of a capture is done and counted as usual, and
 * its graph's launches are counted, not run; without it a capture fails and
 * the runtime runs every call without graphs).
 *
 *===----------------------------------------------------------------------===*/

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef uint64_t CUdeviceptr;
typedef void *CUcontext, *CUmodule, *CUfunction, *CUstream, *CUevent,
    *CUmemoryPool;

enum { kOutOfMemory = 2, kInvalidValue = 1 };

static unsigned long long uploads, uploadBytes, checksum, launches,
    dependent, modules, frees, graphs, graphLaunches;
/* The counters and the allocations, for calls from several threads. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void count(unsigned long long *counter, unsigned long long by) {
  pthread_mutex_lock(&lock);
  *counter += by;
  pthread_mutex_unlock(&lock);
}

static int failing(const char *name) {
  const char *fail = getenv("FAKE_CUDA_FAIL");
  return fail && strcmp(fail, name) == 0;
}
#define FAIL_IF_ASKED()                                                        \
  do {                                                                         \
    if (failing(__func__))                                                     \
      return kOutOfMemory;                                                     \
  } while (0)

/* Device allocations, to answer cuPointerGetAttributes. */
typedef struct {
  char *base;
  size_t bytes;
} Allocation;
static Allocation *allocations;
static size_t allocationCount, allocationCapacity;

static CUresult allocate(CUdeviceptr *out, size_t bytes) {
  /* Zeroed: no kernel writes the outputs, so that every call reads back
     the same bytes. */
  char *p = calloc(bytes ? bytes : 1, 1);
  if (!p)
    return kOutOfMemory;
  pthread_mutex_lock(&lock);
  if (allocationCount == allocationCapacity) {
    size_t capacity = allocationCapacity ? 2 * allocationCapacity : 64;
    Allocation *grown = realloc(allocations, capacity * sizeof(Allocation));
    if (!grown) {
      pthread_mutex_unlock(&lock);
      free(p);
      return kOutOfMemory;
    }
    allocations = grown;
    allocationCapacity = capacity;
  }
  allocations[allocationCount].base = p;
  allocations[allocationCount].bytes = bytes;
  ++allocationCount;
  pthread_mutex_unlock(&lock);
  *out = (CUdeviceptr)(uintptr_t)p;
  return 0;
}

static CUresult release(CUdeviceptr ptr) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < allocationCount; ++i)
    if (allocations[i].base == (char *)(uintptr_t)ptr) {
      free(allocations[i].base);
      allocations[i] = allocations[--allocationCount];
      ++frees;
      pthread_mutex_unlock(&lock);
      return 0;
    }
  pthread_mutex_unlock(&lock);
  return kInvalidValue;
}

static void report(void) __attribute__((destructor));
static void report(void) {
  fprintf(stderr,
          "fake-cuda: uploads %llu bytes %llu checksum %016llx launches %llu "
          "dependent %llu modules %llu frees %llu graphs %llu graph-launches "
          "%llu\n",
          uploads, uploadBytes, checksum, launches, dependent, modules, frees,
          graphs, graphLaunches);
}

CUresult cuInit(unsigned flags) {
  (void)flags;
  FAIL_IF_ASKED();
  return 0;
}
CUresult cuGetErrorString(CUresult rc, const char **text) {
  *text = rc == kOutOfMemory ? "out of memory (fake)" : "invalid value (fake)";
  return 0;
}
CUresult cuGetErrorName(CUresult rc, const char **name) {
  *name = rc == kOutOfMemory ? "CUDA_ERROR_OUT_OF_MEMORY"
                             : "CUDA_ERROR_INVALID_VALUE";
  return 0;
}
CUresult cuDeviceGetCount(int *count) {
  const char *env = getenv("FAKE_CUDA_DEVICES");
  *count = env ? atoi(env) : 1;
  return 0;
}
CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  *device = ordinal;
  return 0;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice device) {
  (void)device;
  const char *env = getenv("FAKE_CUDA_CC");
  int cc = env ? atoi(env) : 90;
  if (attribute == 75) /* compute capability major */
    *value = cc / 10;
  else if (attribute == 76) /* minor */
    *value = cc % 10;
  else
    *value = 0;
  return 0;
}
static int theContext;
CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice device) {
  (void)device;
  FAIL_IF_ASKED();
  *context = &theContext;
  return 0;
}
CUresult cuCtxSetCurrent(CUcontext context) {
  (void)context;
  return 0;
}
static int theModule, theFunction, theStream, theEvent, thePool;
CUresult cuModuleLoadData(CUmodule *module, const void *image) {
  (void)image;
  FAIL_IF_ASKED();
  count(&modules, 1);
  *module = &theModule;
  return 0;
}
CUresult cuModuleUnload(CUmodule module) {
  (void)module;
  return 0;
}
CUresult cuModuleGetFunction(CUfunction *function, CUmodule module,
                             const char *name) {
  (void)module;
  (void)name;
  *function = &theFunction;
  return 0;
}
CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        CUstream stream, void **params, void **extra) {
  (void)f, (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz;
  (void)smem, (void)stream, (void)params, (void)extra;
  FAIL_IF_ASKED();
  count(&launches, 1);
  return 0;
}
/* The runtime's CUlaunchConfig and CUlaunchAttribute (quant_cuda.c). */
typedef struct {
  int id;
  char pad[4];
  union {
    char raw[64];
    void *align;
    int allowed;
  } value;
} LaunchAttribute;
typedef struct {
  unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ,
      sharedMemBytes;
  CUstream stream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
} LaunchConfig;
CUresult cuLaunchKernelEx(const LaunchConfig *config, CUfunction f,
                          void **params, void **extra) {
  (void)f, (void)params, (void)extra;
  FAIL_IF_ASKED();
  count(&launches, 1);
  for (unsigned i = 0; i < config->numAttrs; ++i)
    if (config->attrs[i].id == 6 && config->attrs[i].value.allowed)
      count(&dependent, 1);
  return 0;
}
CUresult cuStreamCreate(CUstream *stream, unsigned flags) {
  (void)flags;
  *stream = &theStream;
  return 0;
}
CUresult cuStreamSynchronize(CUstream stream) {
  (void)stream;
  return 0;
}
CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) {
  FAIL_IF_ASKED();
  return allocate(ptr, bytes);
}
CUresult cuMemFree_v2(CUdeviceptr ptr) { return release(ptr); }
CUresult cuMemAllocAsync(CUdeviceptr *ptr, size_t bytes, CUstream stream) {
  (void)stream;
  FAIL_IF_ASKED();
  return allocate(ptr, bytes);
}
CUresult cuMemFreeAsync(CUdeviceptr ptr, CUstream stream) {
  (void)stream;
  return release(ptr);
}
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                       CUstream stream) {
  (void)stream;
  FAIL_IF_ASKED();
  memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, bytes);
  return 0;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes) {
  FAIL_IF_ASKED();
  memcpy((void *)(uintptr_t)dst, src, bytes);
  uint64_t hash = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; ++i)
    hash = (hash ^ ((const unsigned char *)src)[i]) * 1099511628211ull;
  count(&checksum, hash);
  count(&uploadBytes, bytes);
  count(&uploads, 1);
  return 0;
}
CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count,
                          CUstream stream) {
  (void)stream;
  for (size_t i = 0; i < count; ++i)
    memcpy((char *)(uintptr_t)dst + 4 * i, &value, 4);
  return 0;
}
CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count,
                          CUstream stream) {
  (void)stream;
  for (size_t i = 0; i < count; ++i)
    memcpy((char *)(uintptr_t)dst + 2 * i, &value, 2);
  return 0;
}
CUresult cuPointerGetAttributes(unsigned count, int *attributes, void **data,
                                CUdeviceptr ptr) {
  for (unsigned a = 0; a < count; ++a) {
    if (attributes[a] != 2) /* memory type */
      return kInvalidValue;
    unsigned type = 0; /* not the driver's: host memory */
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < allocationCount; ++i)
      if ((char *)(uintptr_t)ptr >= allocations[i].base &&
          (char *)(uintptr_t)ptr < allocations[i].base + allocations[i].bytes)
        type = 2; /* device */
    pthread_mutex_unlock(&lock);
    *(unsigned *)data[a] = type;
  }
  return 0;
}
CUresult cuEventCreate(CUevent *event, unsigned flags) {
  (void)flags;
  *event = &theEvent;
  return 0;
}
CUresult cuEventRecord(CUevent event, CUstream stream) {
  (void)event, (void)stream;
  return 0;
}
CUresult cuEventSynchronize(CUevent event) {
  (void)event;
  return 0;
}
CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent stop) {
  (void)start, (void)stop;
  *ms = 0.001f;
  return 0;
}
CUresult cuEventDestroy_v2(CUevent event) {
  (void)event;
  return 0;
}
CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice device) {
  (void)device;
  *pool = &thePool;
  return 0;
}
CUresult cuMemPoolSetAttribute(CUmemoryPool pool, int attribute, void *value) {
  (void)pool, (void)attribute, (void)value;
  return 0;
}

/* CUDA graphs: see FAKE_CUDA_GRAPHS above. */
static int theGraph, theExec;
CUresult cuStreamBeginCapture_v2(CUstream stream, int mode) {
  (void)stream, (void)mode;
  const char *env = getenv("FAKE_CUDA_GRAPHS");
  return env && strcmp(env, "1") == 0 ? 0 : kInvalidValue;
}
CUresult cuStreamEndCapture(CUstream stream, void **graph) {
  (void)stream;
  *graph = &theGraph;
  return 0;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                     unsigned long long flags) {
  (void)graph, (void)flags;
  FAIL_IF_ASKED();
  count(&graphs, 1);
  *exec = &theExec;
  return 0;
}
CUresult cuGraphLaunch(void *exec, CUstream stream) {
  (void)exec, (void)stream;
  FAIL_IF_ASKED();
  count(&graphLaunches, 1);
  return 0;
}
CUresult cuGraphDestroy(void *graph) {
  (void)graph;
  return 0;
}
CUresult cuGraphExecDestroy(void *exec) {
  (void)exec;
  return 0;
}
