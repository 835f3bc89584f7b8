/* Calls the model compiled from cache.onnxtxt twice over: `cached` keeps its
 * intermediates between calls (quant-compile's default), `ref` allocates
 * them on every call (--buffer-cache=false). Checks that
 *  - both give bit-identical outputs, call after call, whatever the batch
 *    size (a dynamic one: its buffers grow when a call needs more);
 *  - the cached model allocates nothing once its buffers exist, again after
 *    a larger batch, and everything again after cached_release_buffers();
 *  - concurrent calls from several threads are still right.
 * The model's buffers come from aligned_alloc; those of the cached sizes
 * (4 KiB and more, plus the 64-byte header) are counted here. */
#include "cached.h"
#include "ref.h"
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_long allocations;

void *aligned_alloc(size_t alignment, size_t size) {
  if (size >= 4096 + 64)
    atomic_fetch_add(&allocations, 1);
  return memalign(alignment, size);
}

enum { K = 256, MAX_N = 32 };
static float w[K * K];

static void fill(float *p, long n, unsigned seed) {
  for (long i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
  }
}

/* Runs `cached` on an n-row input made from `seed`; 0 when its output
 * equals ref's bit for bit. */
static int check(int64_t n, unsigned seed) {
  float x[MAX_N * K], y[K], expected[K];
  fill(x, n * K, seed);
  int64_t xs[2] = {n, K}, ws[2] = {K, K};
  const int64_t *shapes[2] = {xs, ws};
  void *inputs[2] = {x, w}, *got[1] = {y}, *want[1] = {expected};
  if (cached_run(inputs, shapes, got) || ref_run(inputs, shapes, want))
    return 1;
  return memcmp(y, expected, sizeof y) != 0;
}

static long fresh(int64_t n, unsigned seed, int *bad) {
  long before = atomic_load(&allocations);
  *bad |= check(n, seed);
  return atomic_load(&allocations) - before;
}

static void *worker(void *arg) {
  unsigned id = (unsigned)(size_t)arg;
  long bad = 0;
  for (unsigned i = 0; i < 50; ++i)
    bad += check(1 + (id * 7 + i) % MAX_N, 1000 * id + i);
  return (void *)bad;
}

int main(void) {
  fill(w, K * K, 7);
  int bad = 0;
  long first = fresh(16, 1, &bad);
  printf("first call allocates: %s\n", first > 0 ? "yes" : "no");
  printf("second call allocates: %ld\n", fresh(16, 2, &bad));
  printf("smaller batch allocates: %ld\n", fresh(8, 3, &bad));
  printf("larger batch allocates: %s\n", fresh(32, 4, &bad) > 0 ? "yes" : "no");
  printf("then: %ld\n", fresh(32, 5, &bad) + fresh(16, 6, &bad));
  cached_release_buffers();
  printf("after release, as many as the first call: %s\n",
         fresh(16, 7, &bad) == first ? "yes" : "no");
  printf("sequential outputs identical: %s\n", bad ? "no" : "yes");
  pthread_t threads[4];
  for (size_t t = 0; t < 4; ++t)
    pthread_create(&threads[t], NULL, worker, (void *)t);
  long wrong = 0;
  for (size_t t = 0; t < 4; ++t) {
    void *result;
    pthread_join(threads[t], &result);
    wrong += (long)result;
  }
  printf("concurrent calls wrong: %ld\n", wrong);
  cached_release_buffers();
  return 0;
}
