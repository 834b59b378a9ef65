#pragma once
// A small PNG decoder (zlib for the inflate): 8-bit grayscale, gray+alpha, RGB, RGBA and
// palette images, non-interlaced, all five row filters. Everything else (16-bit or sub-byte
// depths, Adam7 interlacing) is refused with a PngError that says what the file is.
// Images come out as 8-bit RGB; alpha is composited over white (text on a transparent page
// reads as text on paper).

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <vector>

namespace loom::ocr {

struct PngError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B.
struct Image {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> rgb; // width * height * 3

    std::uint8_t* pixel(int x, int y) {
        return rgb.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                             static_cast<std::size_t>(x)) *
                                3;
    }
    const std::uint8_t* pixel(int x, int y) const { return const_cast<Image*>(this)->pixel(x, y); }
};

Image decode_png(std::span<const std::uint8_t> file);
Image read_png(const std::filesystem::path& path); // PngError naming the file

} // namespace loom::ocr
