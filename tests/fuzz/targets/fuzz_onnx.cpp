// The ONNX reader on arbitrary protobuf bytes (components/reader): parse, convert, infer.
// Seeds: a few models of Debian's ONNX backend test data (tools/fuzz.sh adds all of them and the
// shared models).

#include <filesystem>
#include <fstream>
#include <iterator>

#include "components/model/op_registry.hpp"
#include "components/reader/reader.hpp"
#include "tests/fuzz/targets/fuzz_target.hpp"

namespace {

const loom::model::OpRegistry& registry() {
    static auto r = loom::model::make_native_registry();
    return *r;
}

} // namespace

FuzzSeeds loom_fuzz_seeds() {
    FuzzSeeds seeds;
    const std::filesystem::path node = "/usr/share/libonnx-testdata/data/node";
    for (const char* c : {"test_relu", "test_conv_with_strides_padding", "test_gather_0",
                          "test_reshape_extended_dims", "test_loop11", "test_if"}) {
        std::ifstream in(node / c / "model.onnx", std::ios::binary);
        if (!in) continue;
        seeds.emplace_back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    if (seeds.empty()) seeds.push_back({0x08, 0x07}); // ir_version 7, nothing else
    return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    loom::fuzz::expect_typed([&] {
        (void)loom::reader::read_model_bytes(loom::fuzz::as_bytes(data, size), {}, nullptr,
                                             registry(), loom::reader::Format::Onnx);
    });
    return 0;
}
