#pragma once
// Greedy CTC decoding for PP-OCR recognition: the best class per time step, repeats merged,
// blanks dropped. Classes: 0 = blank, then the dictionary's lines, then " " (PaddleOCR's
// use_space_char).

#include <filesystem>
#include <string>
#include <vector>

namespace loom::ocr {

// Class index → text: "" (blank), each dictionary line (trailing '\r' removed), " ".
std::vector<std::string> load_dictionary(const std::filesystem::path& path);
std::vector<std::string> make_charset(std::vector<std::string> lines);

struct Decoded {
    std::string text;
    float score = 0; // mean probability of the kept characters (0 when none)
};

// `probs` holds steps × classes values (per-step probabilities, as the rec model's softmax
// output); invalid_argument when `classes` differs from the charset's size.
Decoded ctc_greedy_decode(const float* probs, int steps, int classes,
                          const std::vector<std::string>& charset);

} // namespace loom::ocr
