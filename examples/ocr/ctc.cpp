#include "ctc.hpp"

#include <fstream>
#include <stdexcept>

namespace loom::ocr {

std::vector<std::string> make_charset(std::vector<std::string> lines) {
    std::vector<std::string> charset;
    charset.reserve(lines.size() + 2);
    charset.emplace_back();
    for (auto& line : lines)
        charset.push_back(std::move(line));
    charset.emplace_back(" ");
    return charset;
}

std::vector<std::string> load_dictionary(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open dictionary " + path.string());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
    }
    if (lines.empty()) throw std::runtime_error("empty dictionary " + path.string());
    return make_charset(std::move(lines));
}

Decoded ctc_greedy_decode(const float* probs, int steps, int classes,
                          const std::vector<std::string>& charset) {
    if (classes != static_cast<int>(charset.size()))
        throw std::invalid_argument(
            "ctc: the model has " + std::to_string(classes) + " classes but the dictionary gives " +
            std::to_string(charset.size()) + " (blank + lines + space); wrong dictionary?");
    Decoded out;
    double sum = 0;
    int kept = 0, previous = -1;
    for (int t = 0; t < steps; ++t) {
        const float* row = probs + static_cast<std::ptrdiff_t>(t) * classes;
        int best = 0;
        for (int c = 1; c < classes; ++c)
            if (row[c] > row[best]) best = c;
        if (best != 0 && best != previous) {
            out.text += charset[static_cast<std::size_t>(best)];
            sum += row[best];
            ++kept;
        }
        previous = best;
    }
    out.score = kept ? static_cast<float>(sum / kept) : 0.0f;
    return out;
}

} // namespace loom::ocr
