// Structural tests of the recurrent ONNX converters (RNN, GRU, LSTM): the native ops each ONNX node
// becomes, their key attributes, and the output types and shapes (computed by hand from the ONNX
// spec).
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "components/reader/onnx/ops_test_util.hpp"

namespace loom::reader::onnx_fe::test {
namespace {

TEST(OnnxOpsRnn, LstmForward) {
    // seq 5, batch 2, input 4, hidden 3.
    auto m = read(single_node_model("LSTM",
                                    {{"x", F32, {5, 2, 4}},
                                     {"w", F32, {1, 12, 4}},
                                     {"r", F32, {1, 12, 3}},
                                     {"b", F32, {1, 24}}},
                                    {"y", "y_h", "y_c"},
                                    [](auto& n) { set_attr(n, "hidden_size", std::int64_t{3}); }));
    auto h = ops_of(*m);
    EXPECT_EQ(h["LSTMSequence"], 1u);
    EXPECT_EQ(h["Split"], 4u);  // W, R, B gates; B halves
    EXPECT_EQ(h["Concat"], 5u); // W, R, B gate reorder; two zero-state shapes
    EXPECT_EQ(h["Transpose"], 4u);
    expect_output(*m, 0, ElementType::F32, "[5,1,2,3]");
    expect_output(*m, 1, ElementType::F32, "[1,2,3]");
    expect_output(*m, 2, ElementType::F32, "[1,2,3]");
    const model::Node* seq = nullptr;
    for (auto* n : m->nodes())
        if (n->is("LSTMSequence")) seq = n;
    ASSERT_NE(seq, nullptr);
    EXPECT_EQ(seq->attrs.get<std::string>("direction"), "forward");
    EXPECT_EQ(seq->attrs.get<std::int64_t>("hidden_size"), 3);
}

TEST(OnnxOpsRnn, LstmPeepholesUseLstmSequence1) {
    auto m = read(single_node_model("LSTM",
                                    {{"x", F32, {5, 2, 4}},
                                     {"w", F32, {1, 12, 4}},
                                     {"r", F32, {1, 12, 3}},
                                     {"", F32, {}},
                                     {"", F32, {}},
                                     {"", F32, {}},
                                     {"", F32, {}},
                                     {"p", F32, {1, 9}}},
                                    {"y"},
                                    [](auto& n) { set_attr(n, "hidden_size", std::int64_t{3}); }));
    const model::Node* seq = nullptr;
    for (auto* n : m->nodes())
        if (n->is("LSTMSequence")) seq = n;
    ASSERT_NE(seq, nullptr);
    EXPECT_EQ(seq->version, "opset1");
    EXPECT_EQ(seq->inputs.size(), 8u);
    expect_output(*m, 0, ElementType::F32, "[5,1,2,3]");
}

TEST(OnnxOpsRnn, GruBidirectionalLinearBeforeReset) {
    auto m = read(single_node_model(
        "GRU",
        {{"x", F32, {5, 2, 4}}, {"w", F32, {2, 9, 4}}, {"r", F32, {2, 9, 3}}, {"b", F32, {2, 18}}},
        {"y", "y_h"}, [](auto& n) {
            set_attr(n, "hidden_size", std::int64_t{3});
            set_attr(n, "direction", std::string("bidirectional"));
            set_attr(n, "linear_before_reset", std::int64_t{1});
            set_strings(n, "activations", {"Sigmoid", "Tanh", "Sigmoid", "Tanh"});
        }));
    auto h = ops_of(*m);
    EXPECT_EQ(h["GRUSequence"], 1u);
    expect_output(*m, 0, ElementType::F32, "[5,2,2,3]");
    expect_output(*m, 1, ElementType::F32, "[2,2,3]");
    for (auto* n : m->nodes())
        if (n->is("GRUSequence")) {
            EXPECT_TRUE(n->attrs.get<bool>("linear_before_reset"));
            // Bias [2, 4*hidden]: z and r summed, Wb_h and Rb_h apart.
            EXPECT_EQ(n->inputs[5].node->outputs[n->inputs[5].index].shape.to_string(), "[2,12]");
            EXPECT_EQ(n->attrs.get<std::vector<std::string>>("activations"),
                      (std::vector<std::string>{"sigmoid", "tanh"}));
        }
}

TEST(OnnxOpsRnn, GruBatchMajorLayout) {
    auto m = read(single_node_model(
        "GRU", {{"x", F32, {2, 5, 4}}, {"w", F32, {1, 9, 4}}, {"r", F32, {1, 9, 3}}}, {"y", "y_h"},
        [](auto& n) {
            set_attr(n, "hidden_size", std::int64_t{3});
            set_attr(n, "layout", std::int64_t{1});
        },
        14));
    expect_output(*m, 0, ElementType::F32, "[2,5,1,3]");
    expect_output(*m, 1, ElementType::F32, "[2,1,3]");
}

// Found by fuzz_onnx: a batch-major LSTM of a 1-D X indexed X's shape past its end.
TEST(OnnxOpsRnn, AnXThatIsNot3DIsRefused) {
    for (const bool batch_major : {true, false})
        expect_error(single_node_model(
                         "LSTM", {{"x", F32, {4}}, {"w", F32, {1, 12, 4}}, {"r", F32, {1, 12, 3}}},
                         {"y"},
                         [&](auto& n) {
                             set_attr(n, "hidden_size", std::int64_t{3});
                             set_attr(n, "layout", std::int64_t{batch_major ? 1 : 0});
                         },
                         14),
                     ErrorKind::INVALID_ARGUMENT, "must be 3-D");
}

TEST(OnnxOpsRnn, GruUnsupportedActivation) {
    expect_error(single_node_model(
                     "GRU", {{"x", F32, {5, 2, 4}}, {"w", F32, {1, 9, 4}}, {"r", F32, {1, 9, 3}}},
                     {"y"},
                     [](auto& n) {
                         set_attr(n, "hidden_size", std::int64_t{3});
                         set_strings(n, "activations", {"HardSigmoid", "Tanh"});
                     }),
                 ErrorKind::UNSUPPORTED, "HardSigmoid");
}

TEST(OnnxOpsRnn, RnnLayout0TransposesToBatchMajor) {
    // X [seq 5, batch 2, input 3]; Y [seq, dirs, batch, hidden], Y_h [dirs, batch, hidden].
    auto m = read(single_node_model(
        "RNN", {{"x", F32, {5, 2, 3}}, {"w", F32, {1, 4, 3}}, {"r", F32, {1, 4, 4}}}, {"y", "yh"},
        [](auto& n) {
            set_attr(n, "hidden_size", std::int64_t{4});
            set_strings(n, "activations", {"Relu"});
        },
        14));
    EXPECT_EQ(ops_of(*m)["RNNSequence"], 1u);
    const auto& rnn = only(*m, "RNNSequence");
    EXPECT_EQ(rnn.attrs.get<std::vector<std::string>>("activations"),
              std::vector<std::string>{"relu"});
    EXPECT_EQ(rnn.attrs.get<std::string>("direction"), "forward");
    expect_output(*m, 0, ElementType::F32, "[5,1,2,4]");
    expect_output(*m, 1, ElementType::F32, "[1,2,4]");
}

} // namespace
} // namespace loom::reader::onnx_fe::test
