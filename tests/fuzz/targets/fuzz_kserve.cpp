// KServe v2 inference request bodies (components/serving/kserve), as the HTTP server parses
// them from the network: JSON, or a JSON header plus binary tensor data. Byte 0 splits the rest:
// 0 → all JSON; otherwise the header is the first (byte 0 × rest / 256) bytes. Also every parsed
// request's response body is built (outputs = its inputs, JSON and binary).

#include <string_view>

#include "components/serving/kserve.hpp"
#include "tests/fuzz/targets/fuzz_target.hpp"

FuzzSeeds loom_fuzz_seeds() {
    FuzzSeeds seeds;
    const auto add = [&](std::uint8_t split, std::string_view text) {
        std::vector<std::uint8_t> s{split};
        s.insert(s.end(), text.begin(), text.end());
        seeds.push_back(std::move(s));
    };
    add(0, R"({"id":"a","inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4]]},
               {"name":"s","datatype":"BYTES","shape":[1],"data":["hi"]},
               {"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]}],
               "outputs":[{"name":"y","parameters":{"binary_data":true}}]})");
    const std::string header =
        R"({"inputs":[{"name":"x","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]})";
    std::string body = header + std::string("\1\0\0\0\2\0\0\0", 8);
    add(static_cast<std::uint8_t>(header.size() * 256 / body.size() + 1), body);
    return seeds;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    std::optional<std::size_t> header;
    if (data[0] != 0) header = body.size() * data[0] / 256;
    loom::fuzz::expect_typed([&] {
        const auto request = loom::serving::parse_infer_request(body, header, 1 << 16);
        std::vector<loom::serving::ResponseOutput> outputs;
        for (std::size_t i = 0; i < request.inputs.size(); ++i)
            outputs.push_back({request.inputs[i].name, request.inputs[i].tensor, i % 2 == 1});
        (void)loom::serving::infer_response("m", "1", request.id, outputs);
    });
    return 0;
}
