#pragma once
// The head of the test pipelines (pipeline_test, http_server_test, served_swap_test): input x
// (f32 [4]) and node "rows" demultiplying the pipetest extension's Rows(x) — one item per row,
// row r = x + r, N = round(x[0]). `table` prefixes the table names ("pipeline." for a
// [[pipeline]] declared in a deployment file).

#include <string>

namespace loom::test {

inline std::string rows_head(const std::string& table = "") {
    return "[[" + table + "input]]\nname = \"x\"\ntype = \"f32\"\nshape = [4]\n[[" + table +
           "node]]\nname = \"rows\"\nop = \"Rows\"\ndomain = \"loom.pipetest\"\ninputs = "
           "[\"x\"]\ndemultiply = true\n";
}

} // namespace loom::test
