// `.npy` and ONNX TensorProto `.pb` tensor files (components/runtime/tensor_io), as `loom run`
// and `loom check` read them. Byte 0 even: .npy; odd: .pb.

#include "components/runtime/tensor_io.hpp"
#include "tests/fuzz/targets/fuzz_target.hpp"

FuzzSeeds loom_fuzz_seeds() {
    FuzzSeeds seeds;
    loom::Tensor t(loom::ElementType::F32, loom::Shape{2, 3});
    for (std::size_t i = 0; i < 6; ++i)
        t.data<float>()[i] = static_cast<float>(i) - 2.5f;
    auto npy = loom::runtime::npy_bytes(t);
    std::vector<std::uint8_t> a{0};
    a.insert(a.end(), npy.begin(), npy.end());
    seeds.push_back(a);
    // TensorProto: dims 2, 3; data_type 1 (float); raw_data of 24 bytes.
    std::vector<std::uint8_t> pb{1, 0x08, 2, 0x08, 3, 0x10, 1, 0x4a, 24};
    for (int i = 0; i < 24; ++i)
        pb.push_back(static_cast<std::uint8_t>(i));
    seeds.push_back(pb);
    return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    auto bytes = loom::fuzz::as_bytes(data + 1, size - 1);
    loom::fuzz::expect_typed([&] {
        if (data[0] % 2 == 0)
            (void)loom::runtime::parse_npy(bytes, "fuzz.npy");
        else
            (void)loom::runtime::parse_tensor_pb(bytes, "fuzz.pb");
    });
    return 0;
}
