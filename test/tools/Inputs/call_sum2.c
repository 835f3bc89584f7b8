/* Calls the model compiled from sum2.onnxtxt: a and b share the dynamic
 * dimension N, so their sizes must agree. */
#include "sum2.h"
#include <stdio.h>

int main(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {10, 20, 30, 40, 50, 60}, y[3];
  int64_t as[2] = {2, 3}, bs[2] = {2, 3}, bad[2] = {1, 3};
  const int64_t *shapes[2] = {as, bs}, *mismatched[2] = {as, bad};
  void *inputs[2] = {a, b}, *outputs[1] = {y};
  int rc = sum2_run(inputs, shapes, outputs);
  printf("same N %d: %g %g %g\n", rc, y[0], y[1], y[2]);
  printf("different N %d\n", sum2_run(inputs, mismatched, outputs));
  return 0;
}
