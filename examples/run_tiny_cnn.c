/* Links the object quant-compile made from examples/tiny-cnn.onnx and runs
 * it: reads the input (raw float32, the shape in tiny_cnn.h) from argv[1],
 * prints the output and writes it (raw float32) to argv[2]. See docs/abi.md.
 */
#include "tiny_cnn.h"

#include <stdio.h>

int main(int argc, char **argv) {
  static float x[TINY_CNN_INPUT_0_ELEMENTS];
  static float y[TINY_CNN_OUTPUT_0_ELEMENTS];
  if (argc != 3) {
    fprintf(stderr, "usage: %s INPUT.bin OUTPUT.bin\n", argv[0]);
    return 1;
  }
  FILE *in = fopen(argv[1], "rb");
  if (!in || fread(x, sizeof x, 1, in) != 1) {
    fprintf(stderr, "cannot read %d floats from %s\n",
            TINY_CNN_INPUT_0_ELEMENTS, argv[1]);
    return 1;
  }
  fclose(in);
  void *inputs[] = {x};
  void *outputs[] = {y};
  int32_t rc = tiny_cnn_run(inputs, NULL, outputs);
  if (rc != QUANT_OK) {
    fprintf(stderr, "tiny_cnn_run failed with %d\n", (int)rc);
    return 1;
  }
  printf("probs float32 [2, 10]:");
  for (int i = 0; i < TINY_CNN_OUTPUT_0_ELEMENTS; ++i)
    printf(" %.8g", y[i]);
  printf("\n");
  FILE *out = fopen(argv[2], "wb");
  if (!out || fwrite(y, sizeof y, 1, out) != 1) {
    fprintf(stderr, "cannot write %s\n", argv[2]);
    return 1;
  }
  fclose(out);
  return 0;
}
