// The OpenVINO IR reader (components/reader/ir) on an arbitrary XML document and `.bin` weights.
// Input: a little-endian u32 XML length, the XML, then the weights.

#include <cstring>

#include "components/model/op_registry.hpp"
#include "components/reader/reader.hpp"
#include "tests/fuzz/targets/fuzz_target.hpp"

namespace {

const loom::model::OpRegistry& registry() {
    static auto r = loom::model::make_native_registry();
    return *r;
}

std::vector<std::uint8_t> ir_seed(const std::string& xml, std::vector<std::uint8_t> bin) {
    auto n = static_cast<std::uint32_t>(xml.size());
    std::vector<std::uint8_t> seed(4);
    std::memcpy(seed.data(), &n, 4);
    seed.insert(seed.end(), xml.begin(), xml.end());
    seed.insert(seed.end(), bin.begin(), bin.end());
    return seed;
}

} // namespace

FuzzSeeds loom_fuzz_seeds() {
    const std::string xml = R"(<?xml version="1.0"?>
<net name="seed" version="11">
  <layers>
    <layer id="0" name="x" type="Parameter" version="opset1">
      <data shape="1,2" element_type="f32"/>
      <output><port id="0" precision="FP32" names="x"><dim>1</dim><dim>2</dim></port></output>
    </layer>
    <layer id="1" name="w" type="Const" version="opset1">
      <data element_type="f32" shape="1,2" offset="0" size="8"/>
      <output><port id="0" precision="FP32"><dim>1</dim><dim>2</dim></port></output>
    </layer>
    <layer id="2" name="sum" type="Add" version="opset1">
      <data auto_broadcast="numpy"/>
      <input><port id="0"><dim>1</dim><dim>2</dim></port><port id="1"><dim>1</dim><dim>2</dim></port></input>
      <output><port id="2" precision="FP32" names="y"><dim>1</dim><dim>2</dim></port></output>
    </layer>
    <layer id="3" name="y" type="Result" version="opset1">
      <input><port id="0"><dim>1</dim><dim>2</dim></port></input>
    </layer>
  </layers>
  <edges>
    <edge from-layer="0" from-port="0" to-layer="2" to-port="0"/>
    <edge from-layer="1" from-port="0" to-layer="2" to-port="1"/>
    <edge from-layer="2" from-port="2" to-layer="3" to-port="0"/>
  </edges>
  <rt_info><framework><item name="x" value="1"/></framework></rt_info>
</net>
)";
    std::vector<std::uint8_t> bin(8);
    const float w[2] = {1.5f, -2.0f};
    std::memcpy(bin.data(), w, 8);
    return {ir_seed(xml, bin)};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    std::uint32_t n = 0;
    std::memcpy(&n, data, 4);
    std::size_t xml = std::min<std::size_t>(n, size - 4);
    loom::fuzz::expect_typed([&] {
        (void)loom::reader::read_model_bytes(loom::fuzz::as_bytes(data + 4, xml),
                                             loom::fuzz::as_bytes(data + 4 + xml, size - 4 - xml),
                                             nullptr, registry(), loom::reader::Format::Ir);
    });
    return 0;
}
