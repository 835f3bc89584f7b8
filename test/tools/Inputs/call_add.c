/* Calls the model compiled from add.onnxtxt (y = x + b, x: [2, N]). */
#include "my-add.h"
#include <stdio.h>

int main(void) {
  float x[6] = {10, 20, 30, 11, 22, 33}, b[3] = {1, 2, 3}, y[6];
  int64_t xs[2] = {2, 3}, bs[1] = {3};
  const int64_t *shapes[2] = {xs, bs};
  void *inputs[2] = {x, b}, *outputs[1] = {y};
  int rc = my_add_run(inputs, shapes, outputs);
  printf("ok %d:", rc);
  for (int i = 0; i < 6; ++i)
    printf(" %g", y[i]);
  printf("\n");
  printf("null inputs %d\n", my_add_run(NULL, shapes, outputs));
  printf("null shapes %d\n", my_add_run(inputs, NULL, outputs));
  int64_t wrongStatic[2] = {3, 3};
  const int64_t *s2[2] = {wrongStatic, bs};
  printf("wrong static dim %d\n", my_add_run(inputs, s2, outputs));
  int64_t huge[2] = {2, (int64_t)1 << 50};
  const int64_t *s3[2] = {huge, bs};
  printf("wrong dynamic dim %d\n", my_add_run(inputs, s3, outputs));
  return 0;
}
