#ifndef DISTILL_PNG_READ_H
#define DISTILL_PNG_READ_H

#include <stddef.h>
#include <stdint.h>

/// A PNG decoded to its stored samples: palette expanded to RGB, tRNS expanded to
/// an alpha channel, grey of 1, 2 or 4 bits scaled to 8 bits (v * 255 / (2^bits - 1)),
/// 16-bit samples in host byte order. No gamma or colour-space conversion is applied.
typedef struct {
    uint32_t width;
    uint32_t height;
    /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (after expansion).
    uint32_t channels;
    /// 8 or 16.
    uint32_t bit_depth;
    /// The PNG colour type from the header (0, 2, 3, 4 or 6).
    uint32_t color_type;
    /// `height * width * channels` samples, rows top to bottom, channels interleaved;
    /// one byte each (bit_depth 8) or one uint16_t each (bit_depth 16). Owned by the
    /// caller after success: release with `distill_png_release`.
    void *pixels;
} distill_png_image;

/// Decodes the PNG held in `bytes[0..<size]` with libpng's progressive-free row API.
/// libpng's errors longjmp back into this function only (no caller frame is skipped).
/// Returns 1 on success. On failure returns 0, leaves `image->pixels` NULL and writes
/// a NUL-terminated one-line reason into `message` (at most `message_size` bytes).
/// An image whose decoded samples would exceed `max_bytes` bytes is refused before
/// any pixel memory is allocated.
int distill_png_decode(const uint8_t *bytes, size_t size, size_t max_bytes,
                       distill_png_image *image, char *message, size_t message_size);

/// Frees the pixels of a successfully decoded image and sets the pointer to NULL.
void distill_png_release(distill_png_image *image);

#endif
