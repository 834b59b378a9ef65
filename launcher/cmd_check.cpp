// loom check [-d DEVICE] [--json FILE] [--isolate] [--timeout SECONDS] CASE_DIR ...
// Runs cases in the ONNX backend-test layout (DESIGN.md §7, §8): CASE_DIR/model.onnx,
// test_data_set_N/input_K.pb and output_K.pb, optional case.json with "rtol"/"atol" (defaults
// 1e-3 / 1e-7, as ONNX's backend tests). Inputs are bound to the model's inputs in order and
// outputs compared in order: element types and shapes must match, and every value must satisfy
// |got - want| <= atol + rtol * |want| (NaN matches NaN; integers and booleans exactly). bf16
// data stored as uint16 bits (as ONNX's test data does) is read as bf16.
// A CASE_DIR without model.onnx whose subfolders have one stands for those subfolders.
//
// Output contract: one line per case, `PASS <name>` or `FAIL <name>: <reason>` (the reason on
// one line), then `N passed, N failed` alone on the last line; exit 0 only if all passed. A
// broken case (unreadable model, an error anywhere) fails that case only. One Core serves the
// whole run.

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <kj/exception.h>
#include <nlohmann/json.hpp>

#include "components/runtime/tensor_io.hpp"
#include "launcher/commands.hpp"
#include "launcher/security_options.hpp"
#include "schemas/error.hpp"
#include <loom/core.hpp>
#include <loom/pipeline.hpp>

namespace loom::launcher {

namespace fs = std::filesystem;

namespace {

struct CheckOptions {
    std::string device = "REFERENCE";
    std::string pipeline; // every case runs this pipeline file instead of its model
    std::string json;
    std::vector<std::string> dirs;
    bool isolate = false;
    double timeout_s = 0; // per inference; 0: none
    std::string precision;
    std::string kernel;    // a running deployment to use
    ClientKeyOptions keys; // for the kernel or a device at a tcp:// endpoint
};

struct CaseResult {
    std::string name;
    std::string path;
    bool passed = false;
    std::string reason;
    double ms = 0;
};

struct Tolerance {
    double rtol = 1e-3;
    double atol = 1e-7;
};

std::string case_name(const fs::path& dir) {
    auto p = fs::absolute(dir).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    return p.filename().string();
}

// The cases `dirs` stand for, in order; paths that are neither a case nor hold cases become
// failed results (so a typo is reported like any broken case).
// A case runs its model.onnx, or its pipeline.toml (a declared pipeline, README "Pipelines").
bool is_case(const fs::path& dir) {
    return fs::exists(dir / "model.onnx") || fs::exists(dir / "pipeline.toml");
}

std::vector<fs::path> expand(const std::vector<std::string>& dirs,
                             std::vector<CaseResult>& unusable, bool any_dir) {
    std::vector<fs::path> cases;
    for (const auto& d : dirs) {
        const fs::path dir(d);
        if (is_case(dir) || (any_dir && fs::is_directory(dir))) {
            cases.push_back(dir);
            continue;
        }
        std::vector<fs::path> found;
        std::error_code ec;
        if (fs::is_directory(dir, ec))
            for (const auto& entry : fs::directory_iterator(dir, ec))
                if (entry.is_directory() && is_case(entry.path())) found.push_back(entry.path());
        std::sort(found.begin(), found.end());
        if (found.empty())
            unusable.push_back({case_name(dir), d, false,
                                fs::exists(dir) ? "no model.onnx or pipeline.toml in it or its "
                                                  "subfolders"
                                                : "no such file or directory",
                                0});
        cases.insert(cases.end(), found.begin(), found.end());
    }
    return cases;
}

Tolerance read_tolerance(const fs::path& dir) {
    Tolerance t;
    const auto file = dir / "case.json";
    if (!fs::exists(file)) return t;
    std::ifstream in(file);
    auto j = nlohmann::json::parse(in, nullptr, false);
    LOOM_REQUIRE(!j.is_discarded() && j.is_object(), "{} is not a JSON object", file.string());
    for (auto [key, value] : {std::pair{"rtol", &t.rtol}, std::pair{"atol", &t.atol}}) {
        if (!j.contains(key)) continue;
        LOOM_REQUIRE(j[key].is_number() && j[key].get<double>() >= 0,
                     "{}: \"{}\" must be a non-negative number", file.string(), key);
        *value = j[key].get<double>();
    }
    return t;
}

// test_data_set_N folders, by N.
std::vector<fs::path> data_sets(const fs::path& dir) {
    std::vector<std::pair<long, fs::path>> sets;
    const std::string prefix = "test_data_set_";
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (!entry.is_directory() || name.rfind(prefix, 0) != 0) continue;
        char* end = nullptr;
        const long n = std::strtol(name.c_str() + prefix.size(), &end, 10);
        if (end && *end == '\0' && name.size() > prefix.size()) sets.emplace_back(n, entry.path());
    }
    std::sort(sets.begin(), sets.end());
    std::vector<fs::path> out;
    for (auto& s : sets)
        out.push_back(std::move(s.second));
    return out;
}

std::vector<fs::path> numbered(const fs::path& set, const char* stem) {
    std::vector<fs::path> files;
    for (std::size_t k = 0;; ++k) {
        auto f = set / fmt::format("{}_{}.pb", stem, k);
        if (!fs::exists(f)) return files;
        files.push_back(f);
    }
}

bool is_float(ElementType t) {
    return t == ElementType::F32 || t == ElementType::F64 || t == ElementType::F16 ||
           t == ElementType::BF16;
}

// Empty when `got` matches `want`; otherwise what differs.
std::string compare(const Tensor& got, const Tensor& want, const Tolerance& tol) {
    if (got.element_type() != want.element_type())
        return fmt::format("type {}, expected {}", loom::to_string(got.element_type()),
                           loom::to_string(want.element_type()));
    if (got.shape() != want.shape())
        return fmt::format("shape {}, expected {}", model::to_string(got.shape()),
                           model::to_string(want.shape()));
    const auto g = got.impl().to_f64();
    const auto w = want.impl().to_f64();
    const bool floats = is_float(got.element_type());
    const auto size = element_size(got.element_type());
    const auto* gb = got.impl().bytes().data();
    const auto* wb = want.impl().bytes().data();
    std::size_t bad = 0, first = 0;
    double worst = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
        bool ok;
        if (!floats)
            ok = std::memcmp(gb + i * size, wb + i * size, size) == 0;
        else if (std::isnan(w[i]) || std::isnan(g[i]))
            ok = std::isnan(w[i]) && std::isnan(g[i]);
        else if (std::isinf(w[i]) || std::isinf(g[i]))
            ok = g[i] == w[i];
        else
            ok = std::abs(g[i] - w[i]) <= tol.atol + tol.rtol * std::abs(w[i]);
        if (ok) continue;
        if (bad++ == 0) first = i;
        if (floats && std::isfinite(g[i]) && std::isfinite(w[i]))
            worst = std::max(worst, std::abs(g[i] - w[i]));
    }
    if (bad == 0) return {};
    return fmt::format("{} of {} values differ; first at {}: got {}, expected {}{} (rtol {}, "
                       "atol {})",
                       bad, g.size(), first, g[first], w[first],
                       worst > 0 ? fmt::format("; max |diff| {}", worst) : "", tol.rtol, tol.atol);
}

// Throws on any failure; the message is the reason.
// One inference, cancelled after `timeout_s` seconds (when > 0).
void infer(InferRequest& request, double timeout_s) {
    if (timeout_s <= 0) {
        request.infer();
        return;
    }
    request.start_async();
    const auto limit = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000));
    if (request.wait_for(limit)) return;
    request.cancel();
    try {
        request.wait(); // a kernel between nodes sees the cancel; the request then ends
    } catch (const Error&) {
    }
    LOOM_THROW(ErrorKind::TIMEOUT, "no result within {} s (cancelled)", timeout_s);
}

void run_case(Core& core, const CheckOptions& o, const fs::path& dir) {
    const auto& device = o.device;
    std::string stage = "read";
    try {
        const auto tol = read_tolerance(dir);
        Pipeline pipeline;
        CompiledModel compiled;
        const auto pipeline_file =
            !o.pipeline.empty() ? fs::path(o.pipeline) : dir / "pipeline.toml";
        if (fs::exists(pipeline_file) && (!o.pipeline.empty() || !fs::exists(dir / "model.onnx"))) {
            stage = "compile";
            pipeline = Pipeline::compile(core, pipeline_file, precision_properties(o.precision));
            compiled = pipeline.compiled_model();
        } else {
            auto model = core.read_model((dir / "model.onnx").string());
            stage = "compile";
            compiled = core.compile_model(model, device, precision_properties(o.precision));
        }
        auto request = compiled.create_infer_request();
        const auto sets = data_sets(dir);
        LOOM_REQUIRE(!sets.empty(), "no test_data_set_N folder");
        for (const auto& set : sets) {
            const auto where = set.filename().string();
            stage = where;
            const auto inputs = numbered(set, "input");
            const auto outputs = numbered(set, "output");
            LOOM_REQUIRE(inputs.size() == compiled.inputs().size(),
                         "{} input files for {} model inputs", inputs.size(),
                         compiled.inputs().size());
            LOOM_REQUIRE(outputs.size() <= compiled.outputs().size(),
                         "{} output files for {} model outputs", outputs.size(),
                         compiled.outputs().size());
            for (std::size_t k = 0; k < inputs.size(); ++k) {
                stage = fmt::format("{} input {} ({})", where, k, compiled.inputs()[k].name);
                request.set_input_tensor(
                    k, runtime::bf16_from_bits(runtime::read_tensor_pb(inputs[k]).tensor,
                                               compiled.inputs()[k].type));
            }
            stage = where + " infer";
            infer(request, o.timeout_s);
            for (std::size_t k = 0; k < outputs.size(); ++k) {
                stage = fmt::format("{} output {} ({})", where, k, compiled.outputs()[k].name);
                auto got = request.get_output_tensor(k);
                auto want = runtime::bf16_from_bits(runtime::read_tensor_pb(outputs[k]).tensor,
                                                    got.element_type());
                auto why = compare(got, want, tol);
                if (!why.empty()) throw std::runtime_error(why);
            }
        }
    } catch (const Error& e) {
        throw std::runtime_error(
            fmt::format("{}: {}: {}", stage, to_string(e.kind()), e.message()));
    } catch (const kj::Exception& e) {
        throw std::runtime_error(
            fmt::format("{}: malformed data: {}", stage, e.getDescription().cStr()));
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: {}", stage, e.what()));
    }
}

std::string one_line(std::string s) {
    for (auto& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

CaseResult check_case(Core& core, const CheckOptions& o, const fs::path& dir) {
    CaseResult r{case_name(dir), dir.string(), false, {}, 0};
    const auto start = std::chrono::steady_clock::now();
    try {
        run_case(core, o, dir);
        r.passed = true;
    } catch (const std::exception& e) {
        r.reason = one_line(e.what());
        // Errors name files by path; within the case's own line its folder is implied.
        const auto prefix = (dir / "model.onnx").parent_path().string() + "/";
        for (auto at = r.reason.find(prefix); at != std::string::npos; at = r.reason.find(prefix))
            r.reason.erase(at, prefix.size());
    }
    r.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return r;
}

void print(const CaseResult& r) {
    if (r.passed)
        std::cout << "PASS " << r.name << "\n";
    else
        std::cout << "FAIL " << r.name << ": " << r.reason << "\n";
    std::cout.flush();
}

void write_json(const std::string& file, const std::vector<CaseResult>& results) {
    auto j = nlohmann::json::array();
    for (const auto& r : results)
        j.push_back({{"name", r.name},
                     {"path", r.path},
                     {"passed", r.passed},
                     {"reason", r.reason},
                     {"ms", r.ms}});
    std::ofstream out(file);
    out << j.dump(2) << "\n";
    out.close();
    if (!out) throw Error(ErrorKind::INVALID_ARGUMENT, "cannot write " + file);
}

// The exit code: 0 only if every case passed.
int check(const CheckOptions& o) {
    std::vector<CaseResult> results;
    const auto cases = expand(o.dirs, results, !o.pipeline.empty());
    for (const auto& r : results)
        print(r);
    auto co = client_core_options(o.keys, o.kernel, o.device, {});
    co.devices_out_of_process = co.model_components_out_of_process = o.isolate;
    Core core(co);
    for (const auto& dir : cases) {
        results.push_back(check_case(core, o, dir));
        print(results.back());
    }
    std::size_t passed = 0;
    for (const auto& r : results)
        passed += r.passed ? 1 : 0;
    if (!o.json.empty()) write_json(o.json, results);
    std::cout << passed << " passed, " << results.size() - passed << " failed\n";
    return passed == results.size() ? 0 : 1;
}

} // namespace

void add_check_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<CheckOptions>();
    auto* cmd = app.add_subcommand(
        "check", "Run ONNX backend-test cases (model.onnx, test_data_set_N/) and compare outputs");
    cmd->add_option("cases", o->dirs,
                    "Case folders, or folders whose subfolders are cases (e.g. "
                    "/usr/share/libonnx-testdata/data/node)")
        ->required();
    cmd->add_option("-d,--device", o->device, "Device (default REFERENCE)");
    cmd->add_option("--pipeline", o->pipeline,
                    "Run every case through this pipeline file (TOML) instead of its model; a "
                    "case folder holding pipeline.toml (and no model.onnx) runs that pipeline");
    cmd->add_option("--json", o->json, "Also write [{name, path, passed, reason, ms}] to FILE");
    add_precision_option(*cmd, o->precision);
    cmd->add_flag("--isolate", o->isolate,
                  "Run the device and the reader/transform components in processes of their own");
    add_kernel_option(*cmd, o->kernel);
    o->keys.add(*cmd, "the kernel, or the tcp:// device host");
    cmd->add_option("--timeout", o->timeout_s,
                    "Cancel an inference after this many seconds and fail its case (default: none)")
        ->check(CLI::NonNegativeNumber);
    cmd->callback([&exit_code, o] {
        int code = 1;
        exit_code = guarded("check", [&] { code = check(*o); });
        if (exit_code == 0) exit_code = code;
    });
}

} // namespace loom::launcher
