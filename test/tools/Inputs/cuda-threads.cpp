// Calls a --target=cuda model (examples/tiny-cnn.onnx compiled with
// --name tc) from several threads at once, each with its own host buffers,
// as tc.h allows ("Reentrant: calls may run concurrently"); prints "ok"
// when every call returned QUANT_OK. Run against the fake driver
// (cuda-fake-driver.test), which counts what the threads did.
#include "tc.h"

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 8;
  int calls = argc > 2 ? std::atoi(argv[2]) : 20;
  std::vector<int> failures(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([t, calls, &failures] {
      std::vector<float> x(TC_INPUT_0_ELEMENTS, 0.5f * t);
      std::vector<float> y(TC_OUTPUT_0_ELEMENTS);
      void *inputs[] = {x.data()};
      void *outputs[] = {y.data()};
      for (int c = 0; c < calls; ++c)
        if (tc_run(inputs, nullptr, outputs) != QUANT_OK) {
          std::fprintf(stderr, "thread %d call %d: %s\n", t, c,
                       quant_cuda_last_error());
          ++failures[t];
        }
    });
  for (std::thread &thread : pool)
    thread.join();
  int failed = 0;
  for (int f : failures)
    failed += f;
  if (failed)
    return 1;
  std::printf("ok\n");
  return 0;
}
