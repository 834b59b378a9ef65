#include "plugins/reference/blob.hpp"

#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "components/model/serialize.hpp"
#include "components/protocol/codec.hpp"
#include "plugins/reference/config.hpp"
#include "schemas/error.hpp"

namespace loom::plugins::reference {

namespace {

constexpr char k_blob_magic[8] = {'L', 'O', 'O', 'M', 'R', 'E', 'F', '1'};

void put_u64(std::vector<std::byte>& out, std::uint64_t v) {
    auto* p = reinterpret_cast<const std::byte*>(&v);
    out.insert(out.end(), p, p + sizeof v);
}

class BlobReader {
public:
    explicit BlobReader(std::span<const std::byte> b)
        : m_bytes(b) {}
    std::uint64_t u64() {
        auto s = take(sizeof(std::uint64_t));
        std::uint64_t v = 0;
        std::memcpy(&v, s.data(), sizeof v);
        return v;
    }
    void align(std::size_t a) { take((a - m_pos % a) % a); }
    std::span<const std::byte> take(std::uint64_t n) {
        LOOM_REQUIRE(n <= m_bytes.size() - m_pos,
                     "the exported model is truncated ({} bytes needed at offset {} of {})", n,
                     m_pos, m_bytes.size());
        auto s = m_bytes.subspan(m_pos, n);
        m_pos += n;
        return s;
    }

private:
    std::span<const std::byte> m_bytes;
    std::size_t m_pos = 0;
};

} // namespace

std::vector<std::byte> write_blob(const model::Model& model, const Properties& props) {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::ModelRequest>();
    std::vector<model::Tensor> constants;
    model::write_graph(model, root.initModel(), constants);
    protocol::put_properties(root.initProperties(static_cast<unsigned>(props.values().size())),
                             props);
    auto words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    std::vector<std::byte> out;
    for (char c : k_blob_magic)
        out.push_back(static_cast<std::byte>(c));
    const std::string version = LOOM_VERSION;
    put_u64(out, version.size());
    for (char c : version)
        out.push_back(static_cast<std::byte>(c));
    out.resize((out.size() + 7) / 8 * 8); // the message's words are read in place
    put_u64(out, bytes.size());
    out.insert(out.end(), reinterpret_cast<const std::byte*>(bytes.begin()),
               reinterpret_cast<const std::byte*>(bytes.end()));
    put_u64(out, constants.size());
    for (const auto& t : constants) {
        put_u64(out, t.byte_size());
        out.resize((out.size() + 63) / 64 * 64); // constants start 64-byte aligned
        out.insert(out.end(), t.bytes().begin(), t.bytes().end());
    }
    return out;
}

ImportedBlob read_blob(std::span<const std::byte> blob, const std::string& device) {
    // Keep one 64-byte aligned copy of the blob: the graph's constants view it.
    auto storage =
        model::Tensor::copy_of(ElementType::U8, {static_cast<std::int64_t>(blob.size())}, blob);
    BlobReader in(storage.bytes());
    auto magic = in.take(sizeof k_blob_magic);
    LOOM_REQUIRE(std::memcmp(magic.data(), k_blob_magic, sizeof k_blob_magic) == 0,
                 "this is not a model exported by the {} device", device);
    auto version_bytes = in.take(in.u64());
    std::string version(reinterpret_cast<const char*>(version_bytes.data()), version_bytes.size());
    LOOM_REQUIRE(version == LOOM_VERSION,
                 "the model was exported by Loom {}, this is Loom {}: compile it again", version,
                 LOOM_VERSION);
    in.align(8);
    auto message_bytes = in.take(in.u64());
    LOOM_REQUIRE(message_bytes.size() % 8 == 0 &&
                     reinterpret_cast<std::uintptr_t>(message_bytes.data()) % 8 == 0,
                 "the exported model is corrupt (misaligned message)");
    kj::ArrayPtr<const capnp::word> words(
        reinterpret_cast<const capnp::word*>(message_bytes.data()), message_bytes.size() / 8);
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 1ull << 32;
    capnp::FlatArrayMessageReader reader(words, options);
    auto root = reader.getRoot<schema::ModelRequest>();
    std::vector<model::FrameView> frames;
    const auto count = in.u64();
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto size = in.u64();
        in.align(64);
        frames.push_back({in.take(size), storage.owner()});
    }
    ImportedBlob out;
    out.model = model::read_graph(root.getModel(), frames);
    out.props = protocol::take_properties(root.getProperties());
    return out;
}

} // namespace loom::plugins::reference
