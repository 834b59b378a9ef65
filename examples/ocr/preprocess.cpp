#include "preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace loom::ocr {

Image resize_bilinear(const Image& src, int width, int height) {
    if (width <= 0 || height <= 0 || src.width <= 0 || src.height <= 0)
        throw std::invalid_argument("resize: empty image or size");
    Image dst;
    dst.width = width;
    dst.height = height;
    dst.rgb.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
    const double sx = static_cast<double>(src.width) / width;
    const double sy = static_cast<double>(src.height) / height;
    // Per-column source positions, computed once.
    std::vector<int> x0s(static_cast<std::size_t>(width)), x1s(x0s.size());
    std::vector<double> fxs(x0s.size());
    for (int x = 0; x < width; ++x) {
        const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, src.width - 1.0);
        const auto i = static_cast<std::size_t>(x);
        x0s[i] = static_cast<int>(fx);
        x1s[i] = std::min(x0s[i] + 1, src.width - 1);
        fxs[i] = fx - x0s[i];
    }
    for (int y = 0; y < height; ++y) {
        const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, src.height - 1.0);
        const int y0 = static_cast<int>(fy);
        const int y1 = std::min(y0 + 1, src.height - 1);
        const double wy = fy - y0;
        for (int x = 0; x < width; ++x) {
            const auto i = static_cast<std::size_t>(x);
            const double wx = fxs[i];
            const std::uint8_t* a = src.pixel(x0s[i], y0);
            const std::uint8_t* b = src.pixel(x1s[i], y0);
            const std::uint8_t* c = src.pixel(x0s[i], y1);
            const std::uint8_t* d = src.pixel(x1s[i], y1);
            std::uint8_t* out = dst.pixel(x, y);
            for (int k = 0; k < 3; ++k) {
                const double top = a[k] + (b[k] - a[k]) * wx;
                const double bottom = c[k] + (d[k] - c[k]) * wx;
                out[k] = static_cast<std::uint8_t>(std::lround(top + (bottom - top) * wy));
            }
        }
    }
    return dst;
}

Image crop(const Image& src, int x0, int y0, int x1, int y1) {
    x0 = std::clamp(x0, 0, src.width);
    x1 = std::clamp(x1, 0, src.width);
    y0 = std::clamp(y0, 0, src.height);
    y1 = std::clamp(y1, 0, src.height);
    if (x1 <= x0 || y1 <= y0) throw std::invalid_argument("crop: empty region");
    Image dst;
    dst.width = x1 - x0;
    dst.height = y1 - y0;
    dst.rgb.resize(static_cast<std::size_t>(dst.width) * static_cast<std::size_t>(dst.height) * 3);
    for (int y = 0; y < dst.height; ++y)
        std::copy_n(src.pixel(x0, y0 + y), static_cast<std::size_t>(dst.width) * 3,
                    dst.pixel(0, y));
    return dst;
}

Image rotate_180(const Image& src) {
    Image dst = src;
    for (int y = 0; y < src.height; ++y)
        for (int x = 0; x < src.width; ++x)
            std::copy_n(src.pixel(x, y), 3, dst.pixel(src.width - 1 - x, src.height - 1 - y));
    return dst;
}

Image rotate_90_ccw(const Image& src) {
    Image dst;
    dst.width = src.height;
    dst.height = src.width;
    dst.rgb.resize(src.rgb.size());
    // dst(x', y') = src(W - 1 - y', x')
    for (int y = 0; y < dst.height; ++y)
        for (int x = 0; x < dst.width; ++x)
            std::copy_n(src.pixel(src.width - 1 - y, x), 3, dst.pixel(x, y));
    return dst;
}

DetSize det_input_size(int width, int height, int max_side) {
    const double ratio = std::min(1.0, static_cast<double>(max_side) / std::max(width, height));
    auto round32 = [](double v) {
        return std::max(32, static_cast<int>(std::lround(v / 32)) * 32);
    };
    return {round32(width * ratio), round32(height * ratio)};
}

Batch det_input(const Image& img, DetSize size) {
    static constexpr float mean[3] = {0.485f, 0.456f, 0.406f}; // for B, G, R planes
    static constexpr float stdev[3] = {0.229f, 0.224f, 0.225f};
    const Image r = (size.width == img.width && size.height == img.height)
                        ? img
                        : resize_bilinear(img, size.width, size.height);
    Batch b;
    b.n = 1;
    b.h = size.height;
    b.w = size.width;
    const auto plane = static_cast<std::size_t>(b.h * b.w);
    b.data.resize(plane * 3);
    for (std::size_t i = 0; i < plane; ++i)
        for (std::size_t c = 0; c < 3; ++c) {
            const float v = r.rgb[i * 3 + 2 - c] / 255.0f; // channel c of BGR
            b.data[c * plane + i] = (v - mean[c]) / stdev[c];
        }
    return b;
}

Batch line_batch(const std::vector<Image>& crops, int batch_width, int height) {
    Batch b;
    b.n = static_cast<std::int64_t>(crops.size());
    b.h = height;
    b.w = batch_width;
    const auto plane = static_cast<std::size_t>(b.h * b.w);
    b.data.assign(plane * 3 * crops.size(), 0.0f);
    for (std::size_t k = 0; k < crops.size(); ++k) {
        const Image& crop_img = crops[k];
        const double ratio = static_cast<double>(crop_img.width) / crop_img.height;
        const int w = std::clamp(static_cast<int>(std::ceil(height * ratio)), 1, batch_width);
        const Image r = resize_bilinear(crop_img, w, height);
        float* base = b.data.data() + k * plane * 3;
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < w; ++x) {
                const std::uint8_t* p = r.pixel(x, y);
                const auto i = static_cast<std::size_t>(y * batch_width + x);
                for (std::size_t c = 0; c < 3; ++c)
                    base[c * plane + i] = (p[2 - c] / 255.0f - 0.5f) / 0.5f;
            }
    }
    return b;
}

int rec_batch_width(const std::vector<Image>& crops, int min_width, int max_width) {
    double widest = 0;
    for (const Image& c : crops)
        widest = std::max(widest, 48.0 * c.width / std::max(1, c.height));
    const int w = std::max(min_width, static_cast<int>(std::ceil(widest)));
    return std::min(max_width, (w + 31) / 32 * 32);
}

} // namespace loom::ocr
