// Reference kernels: image family, sampling — ROIAlign-3/9, ROIPooling-2 and GridSample-9
// (see kernel.hpp). Floating data only (f16/bf16 through f32).

#include <cmath>
#include <limits>
#include <string>

#include "components/reference/kernel_util.hpp"

namespace loom::reference {

namespace {

// ---- ROIAlign -------------------------------------------------------------------------------

struct RoiAlignAttrs {
    std::int64_t ph = 1, pw = 1, ratio = 0;
    double scale = 1, offset_src = 0, offset_dst = 0;
    bool aligned = false, max = false;
};

// One bilinear sample: four corner offsets (into a channel plane) and their weights.
struct Sample {
    std::int64_t off[4] = {0, 0, 0, 0};
    double w[4] = {0, 0, 0, 0};
};

Sample bilinear_sample(double y, double x, std::int64_t h, std::int64_t w) {
    Sample s;
    if (y < -1.0 || y > static_cast<double>(h) || x < -1.0 || x > static_cast<double>(w)) return s;
    y = std::max(y, 0.0);
    x = std::max(x, 0.0);
    auto y0 = static_cast<std::int64_t>(y), x0 = static_cast<std::int64_t>(x);
    std::int64_t y1 = y0 + 1, x1 = x0 + 1;
    if (y0 >= h - 1) {
        y0 = y1 = h - 1;
        y = static_cast<double>(y0);
    }
    if (x0 >= w - 1) {
        x0 = x1 = w - 1;
        x = static_cast<double>(x0);
    }
    const double ly = y - static_cast<double>(y0), lx = x - static_cast<double>(x0);
    const double hy = 1 - ly, hx = 1 - lx;
    s.off[0] = y0 * w + x0, s.off[1] = y0 * w + x1, s.off[2] = y1 * w + x0, s.off[3] = y1 * w + x1;
    s.w[0] = hy * hx, s.w[1] = hy * lx, s.w[2] = ly * hx, s.w[3] = ly * lx;
    return s;
}

template <class T>
void roi_align_one(const RoiAlignAttrs& a, const T* box, const T* plane_base, std::int64_t channels,
                   std::int64_t h, std::int64_t w, T* out) {
    const double x1 = (static_cast<double>(box[0]) + a.offset_src) * a.scale + a.offset_dst;
    const double y1 = (static_cast<double>(box[1]) + a.offset_src) * a.scale + a.offset_dst;
    const double x2 = (static_cast<double>(box[2]) + a.offset_src) * a.scale + a.offset_dst;
    const double y2 = (static_cast<double>(box[3]) + a.offset_src) * a.scale + a.offset_dst;
    double rw = x2 - x1, rh = y2 - y1;
    if (!a.aligned) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);
    const double bw = rw / static_cast<double>(a.pw), bh = rh / static_cast<double>(a.ph);
    const auto sx =
        a.ratio ? a.ratio : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(bw)));
    const auto sy =
        a.ratio ? a.ratio : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(bh)));
    std::vector<Sample> samples;
    for (std::int64_t by = 0; by < a.ph; ++by)
        for (std::int64_t bx = 0; bx < a.pw; ++bx)
            for (std::int64_t iy = 0; iy < sy; ++iy)
                for (std::int64_t ix = 0; ix < sx; ++ix)
                    samples.push_back(bilinear_sample(
                        y1 + static_cast<double>(by) * bh +
                            bh / static_cast<double>(sy) * (static_cast<double>(iy) + 0.5),
                        x1 + static_cast<double>(bx) * bw +
                            bw / static_cast<double>(sx) * (static_cast<double>(ix) + 0.5),
                        h, w));
    const auto per_bin = static_cast<std::size_t>(sx * sy);
    for (std::int64_t c = 0; c < channels; ++c) {
        const T* plane = plane_base + c * h * w;
        for (std::int64_t bin = 0; bin < a.ph * a.pw; ++bin) {
            double acc = a.max ? -std::numeric_limits<double>::infinity() : 0.0;
            for (std::size_t k = 0; k < per_bin; ++k) {
                const auto& s = samples[static_cast<std::size_t>(bin) * per_bin + k];
                double v = 0;
                for (int j = 0; j < 4; ++j)
                    v += s.w[j] * static_cast<double>(plane[s.off[j]]);
                acc = a.max ? std::max(acc, v) : acc + v;
            }
            out[c * a.ph * a.pw + bin] =
                static_cast<T>(a.max ? acc : acc / static_cast<double>(per_bin));
        }
    }
}

std::vector<Tensor> roi_align(KernelContext& ctx) {
    RoiAlignAttrs a;
    a.ph = ctx.attr<std::int64_t>("pooled_h");
    a.pw = ctx.attr<std::int64_t>("pooled_w");
    a.ratio = ctx.attr<std::int64_t>("sampling_ratio");
    a.scale = ctx.attr<double>("spatial_scale");
    a.max = ctx.attr<std::string>("mode") == "max";
    const auto aligned = ctx.attr_or<std::string>("aligned_mode", "asymmetric");
    if (aligned == "half_pixel_for_nn") a.aligned = true, a.offset_dst = -0.5;
    if (aligned == "half_pixel") a.aligned = true, a.offset_src = 0.5, a.offset_dst = -1.0;
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    const auto batch = read_indices(ctx.input(2));
    for (auto b : batch)
        LOOM_REQUIRE(b >= 0 && b < s[0], "ROIAlign: batch index {} is out of range [0, {})", b,
                     s[0]);
    auto out = ctx.allocate_output(0);
    const auto rois = convert_tensor(ctx.input(1), data.element_type());
    dispatch_float(data.element_type(), "ROIAlign", [&](auto tag) {
        using T = decltype(tag);
        const T* d = data.data<T>();
        const T* r = rois.data<T>();
        T* o = mutable_values<T>(out).data();
        parallel_for(
            static_cast<std::int64_t>(batch.size()), 1, [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t i = b; i < e; ++i)
                    roi_align_one<T>(a, r + i * 4,
                                     d + batch[static_cast<std::size_t>(i)] * s[1] * s[2] * s[3],
                                     s[1], s[2], s[3], o + i * s[1] * a.ph * a.pw);
            });
    });
    return {out};
}

// ---- ROIPooling -----------------------------------------------------------------------------

template <class T>
void roi_pool_max(const T* box, const T* planes, std::int64_t c, std::int64_t h, std::int64_t w,
                  std::int64_t ph, std::int64_t pw, double scale, T* out) {
    const auto sw = static_cast<std::int64_t>(std::round(static_cast<double>(box[1]) * scale));
    const auto sh = static_cast<std::int64_t>(std::round(static_cast<double>(box[2]) * scale));
    const auto ew = static_cast<std::int64_t>(std::round(static_cast<double>(box[3]) * scale));
    const auto eh = static_cast<std::int64_t>(std::round(static_cast<double>(box[4]) * scale));
    const double bh =
        static_cast<double>(std::max<std::int64_t>(eh - sh + 1, 1)) / static_cast<double>(ph);
    const double bw =
        static_cast<double>(std::max<std::int64_t>(ew - sw + 1, 1)) / static_cast<double>(pw);
    for (std::int64_t y = 0; y < ph; ++y)
        for (std::int64_t x = 0; x < pw; ++x) {
            auto clamp_h = [&](double v) {
                return std::clamp<std::int64_t>(static_cast<std::int64_t>(v), 0, h);
            };
            auto clamp_w = [&](double v) {
                return std::clamp<std::int64_t>(static_cast<std::int64_t>(v), 0, w);
            };
            const auto h0 =
                clamp_h(std::floor(static_cast<double>(y) * bh) + static_cast<double>(sh));
            const auto h1 =
                clamp_h(std::ceil(static_cast<double>(y + 1) * bh) + static_cast<double>(sh));
            const auto w0 =
                clamp_w(std::floor(static_cast<double>(x) * bw) + static_cast<double>(sw));
            const auto w1 =
                clamp_w(std::ceil(static_cast<double>(x + 1) * bw) + static_cast<double>(sw));
            for (std::int64_t ch = 0; ch < c; ++ch) {
                const T* p = planes + ch * h * w;
                T best = h1 > h0 && w1 > w0 ? std::numeric_limits<T>::lowest() : T{0};
                for (auto i = h0; i < h1; ++i)
                    for (auto j = w0; j < w1; ++j)
                        best = std::max(best, p[i * w + j]);
                out[(ch * ph + y) * pw + x] = best;
            }
        }
}

template <class T>
void roi_pool_bilinear(const T* box, const T* planes, std::int64_t c, std::int64_t h,
                       std::int64_t w, std::int64_t ph, std::int64_t pw, T* out) {
    const double x1 = static_cast<double>(box[1]), y1 = static_cast<double>(box[2]);
    const double x2 = static_cast<double>(box[3]), y2 = static_cast<double>(box[4]);
    const double hs =
        ph > 1 ? (y2 - y1) * static_cast<double>(h - 1) / static_cast<double>(ph - 1) : 0;
    const double ws =
        pw > 1 ? (x2 - x1) * static_cast<double>(w - 1) / static_cast<double>(pw - 1) : 0;
    for (std::int64_t y = 0; y < ph; ++y)
        for (std::int64_t x = 0; x < pw; ++x) {
            const double iy = ph > 1 ? static_cast<double>(y) * hs + y1 * static_cast<double>(h - 1)
                                     : 0.5 * (y1 + y2) * static_cast<double>(h - 1);
            const double ix = pw > 1 ? static_cast<double>(x) * ws + x1 * static_cast<double>(w - 1)
                                     : 0.5 * (x1 + x2) * static_cast<double>(w - 1);
            const bool outside = iy < 0 || iy > static_cast<double>(h - 1) || ix < 0 ||
                                 ix > static_cast<double>(w - 1);
            const auto t = static_cast<std::int64_t>(std::floor(iy)),
                       b = static_cast<std::int64_t>(std::ceil(iy));
            const auto l = static_cast<std::int64_t>(std::floor(ix)),
                       r = static_cast<std::int64_t>(std::ceil(ix));
            for (std::int64_t ch = 0; ch < c; ++ch) {
                double v = 0;
                if (!outside) {
                    const T* p = planes + ch * h * w;
                    const double dx = ix - static_cast<double>(l), dy = iy - static_cast<double>(t);
                    const double top = p[t * w + l] + (p[t * w + r] - p[t * w + l]) * dx;
                    const double bottom = p[b * w + l] + (p[b * w + r] - p[b * w + l]) * dx;
                    v = top + (bottom - top) * dy;
                }
                out[(ch * ph + y) * pw + x] = static_cast<T>(v);
            }
        }
}

std::vector<Tensor> roi_pooling(KernelContext& ctx) {
    const auto& data = ctx.input(0);
    const auto& s = data.shape();
    const auto ph = ctx.attr<std::int64_t>("pooled_h"), pw = ctx.attr<std::int64_t>("pooled_w");
    const double scale = ctx.attr<double>("spatial_scale");
    const bool bilinear = ctx.attr_or<std::string>("method", "max") == "bilinear";
    const auto rois = convert_tensor(ctx.input(1), data.element_type());
    auto out = ctx.allocate_output(0);
    dispatch_float(data.element_type(), "ROIPooling", [&](auto tag) {
        using T = decltype(tag);
        const T* r = rois.data<T>();
        const auto n = rois.shape()[0];
        for (std::int64_t i = 0; i < n; ++i) {
            const auto b = static_cast<std::int64_t>(r[i * 5]);
            LOOM_REQUIRE(b >= 0 && b < s[0], "ROIPooling: batch index {} is out of range [0, {})",
                         b, s[0]);
            const T* planes = data.data<T>() + b * s[1] * s[2] * s[3];
            T* o = mutable_values<T>(out).data() + i * s[1] * ph * pw;
            if (bilinear)
                roi_pool_bilinear<T>(r + i * 5, planes, s[1], s[2], s[3], ph, pw, o);
            else
                roi_pool_max<T>(r + i * 5, planes, s[1], s[2], s[3], ph, pw, scale, o);
        }
    });
    return {out};
}

} // namespace

void add_grid_sample_kernels(KernelTable& table); // kernels_image_grid.cpp

void add_image_roi_kernels(KernelTable& table) {
    table.add("ROIAlign", "opset3", roi_align);
    table.add("ROIAlign", "opset9", roi_align);
    table.add("ROIPooling", "opset2", roi_pooling);
    add_grid_sample_kernels(table);
}

} // namespace loom::reference
