#include "det_postprocess.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace loom::ocr {
namespace {

struct Component {
    int x0, y0, x1, y1; // inclusive bounds in map pixels
    std::int64_t pixels;
};

// Labels the 8-connected components of `mask` (iterative flood fill).
std::vector<Component> components(const std::vector<std::uint8_t>& mask, int width, int height) {
    std::vector<Component> out;
    std::vector<std::uint8_t> seen(mask.size(), 0);
    std::vector<int> stack;
    for (int start = 0; start < width * height; ++start) {
        if (!mask[static_cast<std::size_t>(start)] || seen[static_cast<std::size_t>(start)])
            continue;
        Component c{width, height, -1, -1, 0};
        stack.assign(1, start);
        seen[static_cast<std::size_t>(start)] = 1;
        while (!stack.empty()) {
            const int p = stack.back();
            stack.pop_back();
            const int x = p % width, y = p / width;
            c.x0 = std::min(c.x0, x), c.x1 = std::max(c.x1, x);
            c.y0 = std::min(c.y0, y), c.y1 = std::max(c.y1, y);
            ++c.pixels;
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
                    const auto q = static_cast<std::size_t>(ny * width + nx);
                    if (mask[q] && !seen[q]) {
                        seen[q] = 1;
                        stack.push_back(ny * width + nx);
                    }
                }
        }
        out.push_back(c);
    }
    return out;
}

float mean_in(const float* prob, int width, const Component& c) {
    double sum = 0;
    for (int y = c.y0; y <= c.y1; ++y)
        for (int x = c.x0; x <= c.x1; ++x)
            sum += prob[y * width + x];
    return static_cast<float>(sum / ((c.x1 - c.x0 + 1) * (c.y1 - c.y0 + 1)));
}

} // namespace

std::vector<Box> extract_boxes(const float* prob, int width, int height, int image_width,
                               int image_height, const DetParams& params) {
    if (width <= 0 || height <= 0 || image_width <= 0 || image_height <= 0)
        throw std::invalid_argument("extract_boxes: empty map or image");
    std::vector<std::uint8_t> mask(static_cast<std::size_t>(width) *
                                   static_cast<std::size_t>(height));
    for (std::size_t i = 0; i < mask.size(); ++i)
        mask[i] = prob[i] > params.threshold ? 1 : 0;
    auto comps = components(mask, width, height);
    std::sort(comps.begin(), comps.end(),
              [](const Component& a, const Component& b) { return a.pixels > b.pixels; });
    if (comps.size() > static_cast<std::size_t>(params.max_candidates))
        comps.resize(static_cast<std::size_t>(params.max_candidates));
    const double sx = static_cast<double>(image_width) / width;
    const double sy = static_cast<double>(image_height) / height;
    std::vector<Box> boxes;
    for (const Component& c : comps) {
        const double w = c.x1 - c.x0 + 1, h = c.y1 - c.y0 + 1;
        if (std::min(w, h) < params.min_size) continue;
        const float score = mean_in(prob, width, c);
        if (score < params.box_threshold) continue;
        const double d = w * h * params.unclip_ratio / (2 * (w + h));
        if (std::min(w, h) + 2 * d < params.min_size + 2) continue;
        Box b;
        b.x0 = std::clamp(static_cast<int>(std::lround((c.x0 - d) * sx)), 0, image_width);
        b.y0 = std::clamp(static_cast<int>(std::lround((c.y0 - d) * sy)), 0, image_height);
        b.x1 = std::clamp(static_cast<int>(std::lround((c.x1 + 1 + d) * sx)), 0, image_width);
        b.y1 = std::clamp(static_cast<int>(std::lround((c.y1 + 1 + d) * sy)), 0, image_height);
        b.score = score;
        if (b.width() > 0 && b.height() > 0) boxes.push_back(b);
    }
    return boxes;
}

void sort_reading_order(std::vector<Box>& boxes) {
    std::sort(boxes.begin(), boxes.end(),
              [](const Box& a, const Box& b) { return a.y0 != b.y0 ? a.y0 < b.y0 : a.x0 < b.x0; });
    // Group into lines: a box joins the current line when it overlaps the line's first box
    // vertically by more than half the smaller height.
    std::size_t i = 0;
    while (i < boxes.size()) {
        std::size_t j = i + 1;
        while (j < boxes.size()) {
            const int overlap =
                std::min(boxes[i].y1, boxes[j].y1) - std::max(boxes[i].y0, boxes[j].y0);
            if (2 * overlap <= std::min(boxes[i].height(), boxes[j].height())) break;
            ++j;
        }
        std::sort(boxes.begin() + static_cast<std::ptrdiff_t>(i),
                  boxes.begin() + static_cast<std::ptrdiff_t>(j),
                  [](const Box& a, const Box& b) { return a.x0 < b.x0; });
        i = j;
    }
}

} // namespace loom::ocr
