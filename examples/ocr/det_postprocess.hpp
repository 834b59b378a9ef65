#pragma once
// DB text-detection post-processing on the model's probability map: threshold → connected
// components (8-connected) → each component's axis-aligned bounding box, scored by the mean
// probability inside it → "unclip" (grow each side by area × ratio / perimeter, as DB's
// polygon offset does for a rectangle) → scaled back to the image, small or weak boxes dropped.

#include <vector>

namespace loom::ocr {

struct Box {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0; // [x0, x1) × [y0, y1) in image pixels
    float score = 0;
    int width() const { return x1 - x0; }
    int height() const { return y1 - y0; }
};

struct DetParams {
    float threshold = 0.3f;     // probability → text pixel
    float box_threshold = 0.6f; // minimum mean probability of a box
    float unclip_ratio = 1.5f;
    int min_size = 3;          // minimum box side (map pixels) before and after unclip
    int max_candidates = 1000; // components kept (largest first)
};

// `prob` is the map (height × width, row-major) for an image of image_width × image_height.
std::vector<Box> extract_boxes(const float* prob, int width, int height, int image_width,
                               int image_height, const DetParams& params = {});

// Reading order: top to bottom; boxes whose vertical extents overlap by more than half the
// smaller height are one line, read left to right.
void sort_reading_order(std::vector<Box>& boxes);

} // namespace loom::ocr
