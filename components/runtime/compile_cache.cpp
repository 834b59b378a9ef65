#include "components/runtime/compile_cache.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "components/model/serialize.hpp"
#include "schemas/error.hpp"

namespace loom::runtime {

namespace {

// FNV-1a, 64 bits, over everything the key covers.
class Hasher {
public:
    void add(std::span<const std::byte> bytes) {
        for (auto b : bytes) {
            m_h ^= static_cast<std::uint64_t>(b);
            m_h *= 1099511628211ull;
        }
        add_size(bytes.size());
    }
    void add(std::string_view s) { add(std::as_bytes(std::span(s.data(), s.size()))); }
    std::uint64_t value() const noexcept { return m_h; }

private:
    void add_size(std::size_t n) {
        for (int i = 0; i < 8; ++i) {
            m_h ^= (n >> (8 * i)) & 0xff;
            m_h *= 1099511628211ull;
        }
    }
    std::uint64_t m_h = 1469598103934665603ull;
};

} // namespace

std::string cache_file_for(const model::Model& model, const std::string& device,
                           const Properties& device_properties, const std::string& pipeline,
                           const std::string& cache_dir) {
    capnp::MallocMessageBuilder message;
    std::vector<model::Tensor> constants;
    model::write_graph(model, message.initRoot<schema::Graph>(), constants);
    auto words = capnp::messageToFlatArray(message);
    Hasher h;
    h.add(std::as_bytes(std::span(words.asBytes().begin(), words.asBytes().size())));
    for (const auto& t : constants)
        h.add(t.bytes());
    h.add(LOOM_VERSION);
    h.add(device);
    h.add(pipeline);
    for (const auto& [k, v] : device_properties.values()) {
        h.add(k);
        h.add(v);
    }
    std::error_code ec;
    std::filesystem::create_directories(cache_dir, ec);
    LOOM_REQUIRE(std::filesystem::is_directory(cache_dir),
                 "CACHE_DIR '{}' is not a directory and cannot be created", cache_dir);
    return (std::filesystem::path(cache_dir) / fmt::format("{:016x}.blob", h.value())).string();
}

std::optional<bus::Frame> read_cache(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty()) return std::nullopt;
    return bus::Frame::copy_of(
        std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

void write_cache(const std::string& file, const std::string& blob) {
    const auto tmp = file + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return;
        out.write(blob.data(), static_cast<std::streamsize>(blob.size()));
        if (!out) return;
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec) std::filesystem::remove(tmp, ec);
}

} // namespace loom::runtime
