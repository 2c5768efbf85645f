// MNIST's first n training images and labels, read as bytes for the tools'
// benchmarks (nk-pass-ab.c, nk-pass-bench.c, outer-pass-ab.c): the IDX image
// file's pixels after its 16-byte header, the label file's labels after its
// 8-byte header, each label taken modulo `classes`. Returns 0, or prints one
// line naming the file and what was expected (prefixed by `tool`) and returns 1.
#ifndef DISTILL_TOOLS_MNIST_BYTES_H
#define DISTILL_TOOLS_MNIST_BYTES_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int load_mnist_bytes(const char *tool, const char *images, const char *labels_file, long n, long p, long classes,
                            uint8_t **pixels_out, int32_t **labels_out) {
    uint8_t *pixels = malloc(n * p), *bytes = malloc(n);
    int32_t *labels = malloc(4 * n);
    FILE *f = fopen(images, "rb");
    if (!f || fseek(f, 16, SEEK_SET) || fread(pixels, 1, n * p, f) != (size_t)(n * p)) {
        fprintf(stderr, "%s: %s: expected an IDX image file of 60000 x 784 bytes\n", tool, images);
        return 1;
    }
    fclose(f);
    f = fopen(labels_file, "rb");
    if (!f || fseek(f, 8, SEEK_SET) || fread(bytes, 1, n, f) != (size_t)n) {
        fprintf(stderr, "%s: %s: expected an IDX label file of 60000 bytes\n", tool, labels_file);
        return 1;
    }
    fclose(f);
    for (long i = 0; i < n; i++) labels[i] = bytes[i] % classes;
    free(bytes);
    *pixels_out = pixels;
    *labels_out = labels;
    return 0;
}
#endif
