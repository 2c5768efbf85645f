// Decoding PNG files to their stored samples with libpng's row API.
//
// libpng reports errors by longjmp. Every libpng call is made inside
// `distill_png_decode`, after its own setjmp, so a longjmp never crosses a Swift
// frame. State that changes after setjmp lives in a context struct reached
// through a pointer (not in automatic variables), as C requires.

#include "distill_png_read.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *bytes;
    size_t size;
    size_t offset;
    char *message;
    size_t message_size;
    png_structp png;
    png_infop info;
    png_bytep *rows;
    uint8_t *pixels;
} decode_context;

static void record(decode_context *context, const char *text) {
    if (context->message_size == 0) return;
    snprintf(context->message, context->message_size, "%s", text);
}

static void on_error(png_structp png, png_const_charp text) {
    decode_context *context = (decode_context *)png_get_error_ptr(png);
    record(context, text ? text : "unknown libpng error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;  // warnings (bad ancillary chunks) do not stop decoding
}

static void read_bytes(png_structp png, png_bytep out, size_t count) {
    decode_context *context = (decode_context *)png_get_io_ptr(png);
    if (count > context->size - context->offset) {
        png_error(png, "file ends before the image data does (truncated)");
    }
    memcpy(out, context->bytes + context->offset, count);
    context->offset += count;
}

int distill_png_decode(const uint8_t *bytes, size_t size, size_t max_bytes,
                       distill_png_image *image, char *message, size_t message_size) {
    decode_context storage;
    decode_context *volatile context = &storage;
    memset(&storage, 0, sizeof storage);
    storage.bytes = bytes;
    storage.size = size;
    storage.message = message;
    storage.message_size = message_size;
    memset(image, 0, sizeof *image);
    if (message_size > 0) message[0] = 0;

    if (size < 8 || png_sig_cmp(bytes, 0, 8) != 0) {
        record(context, "not a PNG file (the 8-byte PNG signature is missing)");
        return 0;
    }
    context->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, context, on_error, on_warning);
    if (!context->png) {
        record(context, "libpng could not allocate its reader");
        return 0;
    }
    context->info = png_create_info_struct(context->png);
    if (!context->info) {
        png_destroy_read_struct(&context->png, NULL, NULL);
        record(context, "libpng could not allocate its reader");
        return 0;
    }
    if (setjmp(png_jmpbuf(context->png))) {
        free(context->rows);
        free(context->pixels);
        png_destroy_read_struct(&context->png, &context->info, NULL);
        memset(image, 0, sizeof *image);
        return 0;
    }

    png_set_read_fn(context->png, context, read_bytes);
    png_read_info(context->png, context->info);

    png_uint_32 width = 0, height = 0;
    int depth = 0, color_type = 0;
    png_get_IHDR(context->png, context->info, &width, &height, &depth, &color_type, NULL, NULL, NULL);

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(context->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(context->png);
    if (png_get_valid(context->png, context->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(context->png);
    if (depth == 16) {
        const uint16_t probe = 1;
        if (*(const uint8_t *)&probe == 1) png_set_swap(context->png);  // little-endian host
    }
    (void)png_set_interlace_handling(context->png);
    png_read_update_info(context->png, context->info);

    const size_t channels = png_get_channels(context->png, context->info);
    const size_t out_depth = png_get_bit_depth(context->png, context->info);
    const size_t row_bytes = png_get_rowbytes(context->png, context->info);
    if ((out_depth != 8 && out_depth != 16) || channels < 1 || channels > 4 ||
        row_bytes != (size_t)width * channels * (out_depth / 8)) {
        png_error(context->png, "unexpected sample layout after expansion");
    }
    if (height != 0 && row_bytes > max_bytes / height) {
        char text[160];
        snprintf(text, sizeof text, "%u x %u x %zu image of %zu-bit samples exceeds the %zu-byte limit",
                 (unsigned)width, (unsigned)height, channels, out_depth, max_bytes);
        png_error(context->png, text);
    }
    context->pixels = (uint8_t *)malloc(row_bytes * height > 0 ? row_bytes * height : 1);
    context->rows = (png_bytep *)malloc(sizeof(png_bytep) * (height > 0 ? height : 1));
    if (!context->pixels || !context->rows) png_error(context->png, "out of memory for the pixels");
    for (png_uint_32 y = 0; y < height; y++) context->rows[y] = context->pixels + (size_t)y * row_bytes;
    png_read_image(context->png, context->rows);

    image->width = width;
    image->height = height;
    image->channels = (uint32_t)channels;
    image->bit_depth = (uint32_t)out_depth;
    image->color_type = (uint32_t)color_type;
    image->pixels = context->pixels;
    free(context->rows);
    png_destroy_read_struct(&context->png, &context->info, NULL);
    return 1;
}

void distill_png_release(distill_png_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
