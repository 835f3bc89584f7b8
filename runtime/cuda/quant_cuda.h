/*===- quant_cuda.h - the CUDA runtime of compiled GPU models -------------===*
 *
 * What a program that links a model compiled with --target=cuda may call
 * besides <name>_run (see docs/abi.md). Link with libquant_cuda.a -ldl
 * -lpthread; the CUDA driver (libcuda.so.1) is opened at run time.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QUANT_CUDA_H
#define QUANT_CUDA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QUANT_OK 0
#define QUANT_ERR_CUDA 4

/* The driver's message for the last failed call on this thread (the last
 * <name>_run that returned QUANT_ERR_CUDA), or NULL. */
const char *quant_cuda_last_error(void);

/* Device memory, for callers that pass device pointers to <name>_run. */
void *quant_cuda_malloc(int64_t bytes);
void quant_cuda_free(void *device);
/* Copies between any two of host and device memory (unified addressing);
 * synchronous. */
int32_t quant_cuda_copy(void *dst, const void *src, int64_t bytes);

/* Calls run(arg) `count` times, queued back to back on this thread's stream
 * (the calls do not wait for the GPU), and stores the GPU time of call i,
 * between CUDA events around it, in milliseconds[i] (count entries); stops at
 * the first non-zero return, which it returns. flushBytes > 0: before each
 * call, writes that many bytes of scratch memory (outside the events), so
 * the L2 cache holds none of the model's data. The calls' outputs must be
 * device buffers (host outputs would be copied back synchronously). */
int32_t quant_cuda_time(int32_t (*run)(void *), void *arg, int32_t count,
                        int64_t flushBytes, float *milliseconds);

/* Called by the generated entry point. */
int32_t quant_cuda_begin(void);
void *quant_cuda_input(void *host, int64_t bytes);
void *quant_cuda_output(void *host, int64_t bytes);
int32_t quant_cuda_end(void);
void *quant_cuda_global(const void *host, int64_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* QUANT_CUDA_H */
