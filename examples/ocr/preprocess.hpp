#pragma once
// Image operations and the PP-OCR input preprocessing (all three models take BGR, NCHW f32).

#include <cstdint>
#include <vector>

#include "png.hpp"

namespace loom::ocr {

// Bilinear resize with half-pixel centres (as OpenCV's INTER_LINEAR).
Image resize_bilinear(const Image& src, int width, int height);
// The pixels of [x0, x1) × [y0, y1), clamped to the image (invalid_argument when empty).
Image crop(const Image& src, int x0, int y0, int x1, int y1);
Image rotate_180(const Image& src);
Image rotate_90_ccw(const Image& src); // as numpy.rot90: the top row becomes the left column

// Detection input size: each side scaled by min(1, max_side / longest side), then rounded to
// a multiple of 32 (at least 32).
struct DetSize {
    int width = 0;
    int height = 0;
};
DetSize det_input_size(int width, int height, int max_side = 960);

// One batch of NCHW f32 data.
struct Batch {
    std::vector<float> data;
    std::int64_t n = 0, c = 3, h = 0, w = 0;
};

// Resizes to `size`, then BGR, x/255, ImageNet mean/std.
Batch det_input(const Image& img, DetSize size);
// Text-line crops for the classifier (width 192) or the recogniser (width >= 320): each resized
// to height 48 keeping its aspect ratio (width capped at the batch width), BGR,
// (x/255 - 0.5)/0.5, padded on the right with zeros.
Batch line_batch(const std::vector<Image>& crops, int batch_width, int height = 48);
// The recogniser width for a set of crops: 48 × the widest aspect ratio, at least `min_width`,
// rounded up to a multiple of 32 and at most `max_width`.
int rec_batch_width(const std::vector<Image>& crops, int min_width = 320, int max_width = 1600);

} // namespace loom::ocr
