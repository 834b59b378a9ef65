// PNG decoding (ISO/IEC 15948): chunks → IHDR/PLTE/tRNS/IDAT → inflate → unfilter → RGB.

#include "png.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>
#include <zlib.h>

namespace loom::ocr {
namespace {

constexpr std::array<std::uint8_t, 8> k_signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr std::int64_t k_max_pixels = std::int64_t{1} << 28;

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

struct Header {
    std::uint32_t width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    int channels = 0; // samples per pixel in the stored data
};

struct Chunks {
    Header header;
    std::vector<std::uint8_t> palette;       // RGB triples
    std::vector<std::uint8_t> palette_alpha; // tRNS for palette images
    std::vector<std::uint8_t> idat;
};

const char* color_name(int color_type) {
    switch (color_type) {
    case 0:
        return "grayscale";
    case 2:
        return "RGB";
    case 3:
        return "palette";
    case 4:
        return "gray+alpha";
    case 6:
        return "RGBA";
    default:
        return "unknown color type";
    }
}

Header parse_header(const std::uint8_t* d, std::uint32_t length) {
    if (length != 13) throw PngError(fmt::format("png: IHDR has {} bytes, expected 13", length));
    Header h;
    h.width = be32(d);
    h.height = be32(d + 4);
    h.bit_depth = d[8];
    h.color_type = d[9];
    h.interlace = d[12];
    if (h.width == 0 || h.height == 0 || h.width > (1u << 20) || h.height > (1u << 20) ||
        std::int64_t{h.width} * h.height > k_max_pixels)
        throw PngError(fmt::format("png: unsupported image size {}x{}", h.width, h.height));
    static constexpr int channels[] = {1, 0, 3, 1, 2, 0, 4};
    if (h.color_type > 6 || channels[h.color_type] == 0)
        throw PngError(fmt::format("png: invalid color type {}", h.color_type));
    h.channels = channels[h.color_type];
    if (h.bit_depth != 8)
        throw PngError(fmt::format("png: unsupported bit depth {} ({}); only 8-bit images are "
                                   "supported",
                                   h.bit_depth, color_name(h.color_type)));
    if (d[10] != 0 || d[11] != 0) throw PngError("png: unknown compression or filter method");
    if (h.interlace != 0)
        throw PngError("png: interlaced (Adam7) images are not supported; save it non-interlaced");
    return h;
}

Chunks read_chunks(std::span<const std::uint8_t> file) {
    if (file.size() < 8 || !std::equal(k_signature.begin(), k_signature.end(), file.begin()))
        throw PngError("png: not a PNG file (bad signature)");
    Chunks c;
    bool have_header = false, have_end = false;
    std::size_t pos = 8;
    while (!have_end) {
        if (file.size() - pos < 12) throw PngError("png: truncated file (chunk header)");
        const std::uint32_t length = be32(&file[pos]);
        if (length > file.size() - pos - 12) throw PngError("png: truncated file (chunk data)");
        const std::uint8_t* type = &file[pos + 4];
        const std::uint8_t* data = type + 4;
        const std::string name(reinterpret_cast<const char*>(type), 4);
        const auto crc = static_cast<std::uint32_t>(crc32(0, type, length + 4));
        if (crc != be32(data + length))
            throw PngError(fmt::format("png: CRC mismatch in chunk {}", name));
        if (!have_header && name != "IHDR") throw PngError("png: first chunk is not IHDR");
        if (name == "IHDR") {
            c.header = parse_header(data, length);
            have_header = true;
        } else if (name == "PLTE") {
            if (length % 3 != 0 || length == 0 || length > 768)
                throw PngError("png: invalid PLTE chunk");
            c.palette.assign(data, data + length);
        } else if (name == "tRNS" && c.header.color_type == 3) {
            c.palette_alpha.assign(data, data + length);
        } else if (name == "IDAT") {
            c.idat.insert(c.idat.end(), data, data + length);
        } else if (name == "IEND") {
            have_end = true;
        } else if ((type[0] & 0x20) == 0) {
            throw PngError(fmt::format("png: unknown critical chunk {}", name));
        }
        pos += std::size_t{length} + 12;
    }
    if (c.idat.empty()) throw PngError("png: no image data (IDAT)");
    if (c.header.color_type == 3 && c.palette.empty())
        throw PngError("png: palette image without PLTE");
    return c;
}

std::vector<std::uint8_t> inflate_exact(const std::vector<std::uint8_t>& in, std::size_t size) {
    std::vector<std::uint8_t> out(size);
    z_stream z{};
    if (inflateInit(&z) != Z_OK) throw PngError("png: zlib inflateInit failed");
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_FINISH);
    const std::size_t produced = size - z.avail_out;
    inflateEnd(&z);
    if (rc == Z_DATA_ERROR) throw PngError("png: corrupt compressed data");
    if (produced != size)
        throw PngError(fmt::format("png: image data holds {} bytes, expected {}", produced, size));
    return out;
}

std::uint8_t paeth(int a, int b, int c) {
    const int p = a + b - c;
    const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    if (pa <= pb && pa <= pc) return static_cast<std::uint8_t>(a);
    return static_cast<std::uint8_t>(pb <= pc ? b : c);
}

// Reverses the row filters in place; returns the rows without their filter bytes.
std::vector<std::uint8_t> unfilter(std::vector<std::uint8_t>& raw, std::size_t rows,
                                   std::size_t stride, std::size_t bpp) {
    std::vector<std::uint8_t> out(rows * stride);
    std::vector<std::uint8_t> zero(stride, 0);
    for (std::size_t y = 0; y < rows; ++y) {
        const std::uint8_t filter = raw[y * (stride + 1)];
        const std::uint8_t* in = &raw[y * (stride + 1) + 1];
        std::uint8_t* cur = &out[y * stride];
        const std::uint8_t* up = y ? &out[(y - 1) * stride] : zero.data();
        for (std::size_t i = 0; i < stride; ++i) {
            const int a = i >= bpp ? cur[i - bpp] : 0;
            const int b = up[i];
            const int c = i >= bpp ? up[i - bpp] : 0;
            int pred = 0;
            switch (filter) {
            case 0:
                pred = 0;
                break;
            case 1:
                pred = a;
                break;
            case 2:
                pred = b;
                break;
            case 3:
                pred = (a + b) / 2;
                break;
            case 4:
                pred = paeth(a, b, c);
                break;
            default:
                throw PngError(fmt::format("png: invalid filter type {} in row {}", filter, y));
            }
            cur[i] = static_cast<std::uint8_t>(in[i] + pred);
        }
    }
    return out;
}

std::uint8_t over_white(int v, int alpha) {
    return static_cast<std::uint8_t>((v * alpha + 255 * (255 - alpha) + 127) / 255);
}

void to_rgb(const Chunks& c, const std::vector<std::uint8_t>& px, Image& img) {
    const std::size_t n =
        static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height);
    const int ch = c.header.channels;
    const std::size_t palette_size = c.palette.size() / 3;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* s = &px[i * static_cast<std::size_t>(ch)];
        std::uint8_t* d = &img.rgb[i * 3];
        int r = 0, g = 0, b = 0, a = 255;
        switch (c.header.color_type) {
        case 0:
            r = g = b = s[0];
            break;
        case 4:
            r = g = b = s[0], a = s[1];
            break;
        case 2:
            r = s[0], g = s[1], b = s[2];
            break;
        case 6:
            r = s[0], g = s[1], b = s[2], a = s[3];
            break;
        default: // 3: palette
            if (s[0] >= palette_size)
                throw PngError(fmt::format("png: palette index {} out of range", s[0]));
            r = c.palette[s[0] * 3u], g = c.palette[s[0] * 3u + 1], b = c.palette[s[0] * 3u + 2];
            if (s[0] < c.palette_alpha.size()) a = c.palette_alpha[s[0]];
        }
        d[0] = over_white(r, a), d[1] = over_white(g, a), d[2] = over_white(b, a);
    }
}

} // namespace

Image decode_png(std::span<const std::uint8_t> file) {
    const Chunks c = read_chunks(file);
    const auto& h = c.header;
    const std::size_t stride = std::size_t{h.width} * static_cast<std::size_t>(h.channels);
    auto raw = inflate_exact(c.idat, std::size_t{h.height} * (stride + 1));
    const auto pixels = unfilter(raw, h.height, stride, static_cast<std::size_t>(h.channels));
    Image img;
    img.width = static_cast<int>(h.width);
    img.height = static_cast<int>(h.height);
    img.rgb.resize(std::size_t{h.width} * h.height * 3);
    to_rgb(c, pixels, img);
    return img;
}

Image read_png(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw PngError(fmt::format("cannot open image {}", path.string()));
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    try {
        return decode_png(bytes);
    } catch (const PngError& e) {
        throw PngError(fmt::format("{}: {}", path.string(), e.what()));
    }
}

} // namespace loom::ocr
