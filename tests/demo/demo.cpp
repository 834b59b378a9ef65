// loom-demo — the README's first command. Part 1: a real model through the model components of
// the embedded in-process deployment — read by the reader component, transformed by the
// transform component's `common` pipeline — then through the full path of the public API
// (Core → reader → transform → REFERENCE device) on its test data, compared with the
// independent reference output (tolerance 1e-3 relative + 1e-3 absolute). Part 2:
// a kernel with a component in this process (direct dispatch) and one in a second process over
// ipc (shared memory for large tensors); clients send requests through the kernel's routes while
// both components are swapped from version 1 to version 2. Exit status 0 only if the model was
// read, transformed and inferred within tolerance and no request failed.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "bus/tensor_frame.hpp"
#include "components/runtime/embedded.hpp"
#include "components/runtime/tensor_io.hpp"
#include "kernel/client.hpp"
#include "kernel/deployment.hpp"
#include "kernel/kernel.hpp"
#include "kernel/routed_channel.hpp"
#include "tests/support/test_service.hpp"
#include <loom/core.hpp>

using namespace loom;
using namespace std::chrono_literals;

namespace {

struct Load {
    std::atomic<bool> stop{false};
    std::condition_variable progressed; // notified every 64 replies
    std::atomic<std::uint64_t> ok{0}, failed{0};
    std::mutex mutex;
    std::map<std::string, std::uint64_t> versions; // replies per version
    std::string first_error;
};

// Sends echo requests (with a 256 KiB tensor every 8th) until told to stop.
void client(kernel::RoutedChannel& channel, Load& load) {
    auto tensor = bus::Frame::allocate(256 << 10);
    std::memset(tensor.data(), 7, tensor.size());
    std::int64_t shape[] = {static_cast<std::int64_t>(tensor.size())};
    for (std::int64_t i = 0; !load.stop.load(); ++i) {
        bus::OutMessage m;
        auto p = m.init_payload<test::schema::EchoRequest>();
        p.setValue(i);
        if (i % 8 == 0)
            bus::write_tensor(m, p.initTensors(1)[0], ElementType::U8, shape, tensor, "t");
        try {
            auto reply = channel.call(test::TestMethod::ECHO, std::move(m), {.timeout = 30s});
            auto r = reply.payload<test::schema::EchoReply>();
            if (r.getValue() != i) throw Error(ErrorKind::INTERNAL, "reply to another request");
            std::lock_guard lock(load.mutex);
            ++load.versions[r.getVersion().cStr()];
            if (load.ok.fetch_add(1) % 64 == 63) load.progressed.notify_all();
        } catch (const Error& e) {
            std::lock_guard lock(load.mutex);
            load.failed.fetch_add(1);
            if (load.first_error.empty()) load.first_error = e.what();
            load.progressed.notify_all();
        }
    }
}

// Lets `n` more requests through both components (or stops early if one fails).
void let_through(Load& a, Load& b, std::uint64_t n) {
    for (Load* l : {&a, &b}) {
        std::unique_lock lock(l->mutex);
        auto target = l->ok.load() + n;
        l->progressed.wait(lock, [&] { return l->ok.load() >= target || l->failed.load() > 0; });
    }
}

void report(const char* phase, Load& a, Load& b) {
    std::lock_guard la(a.mutex), lb(b.mutex);
    auto line = [](Load& l) {
        std::string v;
        for (auto& [version, n] : l.versions)
            v += fmt::format(" v{}:{}", version, n);
        return fmt::format("{} ok, {} failed,{}", l.ok.load(), l.failed.load(), v);
    };
    std::cout << fmt::format("  {:<28} echo (in-process): {}\n  {:<28} echo-ipc (process): {}\n",
                             phase, line(a), "", line(b));
}

// The shared PP-OCR detector when ../shared is there (LOOM_SHARED_DIR), else a model from
// Debian's ONNX test data (installed by setup.sh).
std::filesystem::path demo_model() {
    const char* shared = std::getenv("LOOM_SHARED_DIR");
    auto det =
        std::filesystem::path(shared ? shared : "../shared") / "models/ppocr-det-v4/model.onnx";
    if (std::filesystem::exists(det)) return det;
    return "/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv3d_groups/model.onnx";
}

void model_phase(const std::filesystem::path& path) {
    runtime::EmbeddedDeployment deployment;
    auto t0 = bus::Clock::now();
    auto read = runtime::read_model(deployment.reader(), path.string());
    auto t1 = bus::Clock::now();
    auto transformed = runtime::transform_model(deployment.transform(), *read.model, "common");
    auto t2 = bus::Clock::now();
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::cout << fmt::format("loom-demo: model {}\n", path.string());
    for (auto* p : read.model->parameters())
        std::cout << fmt::format("  input  {:<20} {} {}\n", p->name,
                                 loom::to_string(p->outputs[0].type),
                                 p->outputs[0].shape.to_string());
    for (auto* r : read.model->results()) {
        const auto& o = r->inputs[0].node->outputs[r->inputs[0].index];
        std::cout << fmt::format("  output {:<20} {} {}\n", o.names.empty() ? r->name : o.names[0],
                                 loom::to_string(o.type), o.shape.to_string());
    }
    std::cout << fmt::format("  read by the reader component: {} nodes in {:.1f} ms\n",
                             read.model->size(), ms(t1 - t0));
    std::cout << fmt::format("  transform 'common': {} -> {} nodes in {:.1f} ms\n",
                             read.model->size(), transformed.model->size(), ms(t2 - t1));
}

// One inference of the model on its first test data set (beside it, ONNX backend-test layout)
// through the public Core API; false when an output is outside the tolerance.
bool inference_phase(const std::filesystem::path& path) {
    const auto data = path.parent_path() / "test_data_set_0";
    Core core;
    auto t0 = bus::Clock::now();
    auto compiled = core.compile_model(path.string(), "REFERENCE");
    auto t1 = bus::Clock::now();
    auto request = compiled.create_infer_request();
    for (std::size_t i = 0; i < compiled.inputs().size(); ++i) {
        auto t = runtime::read_tensor_pb(data / fmt::format("input_{}.pb", i));
        request.set_tensor(compiled.inputs()[i], t.tensor);
    }
    request.infer(); // warm-up
    auto t2 = bus::Clock::now();
    request.infer();
    auto t3 = bus::Clock::now();
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::cout << fmt::format("  compiled on REFERENCE (Core: reader → transform → device) in "
                             "{:.1f} ms; one inference {:.1f} ms\n",
                             ms(t1 - t0), ms(t3 - t2));
    bool ok = true;
    for (std::size_t i = 0; i < compiled.outputs().size(); ++i) {
        auto want = runtime::read_tensor_pb(data / fmt::format("output_{}.pb", i)).tensor;
        auto got = request.get_tensor(compiled.outputs()[i]);
        if (got.element_type() != ElementType::F32 || want.element_type() != ElementType::F32 ||
            got.size() != want.size()) {
            std::cout << fmt::format("  output {}: type or size differs from the reference\n", i);
            ok = false;
            continue;
        }
        double worst = 0;
        std::int64_t bad = 0;
        for (std::int64_t k = 0; k < got.size(); ++k) {
            const double g = got.data<float>()[k], w = want.data<float>()[k];
            worst = std::max(worst, std::abs(g - w));
            bad += std::abs(g - w) > 1e-3 + 1e-3 * std::abs(w) ? 1 : 0;
        }
        std::cout << fmt::format("  output {:<20} {} values, max |diff| vs reference {:.2e}, {} "
                                 "outside tolerance\n",
                                 compiled.outputs()[i].name, got.size(), worst, bad);
        ok = ok && bad == 0;
    }
    return ok;
}

} // namespace

int main(int argc, char** argv) {
    std::filesystem::path config = argc > 1 ? argv[1] : LOOM_DEMO_CONFIG;
    ::setenv("LOOM_LIB_DIR", LOOM_DEMO_LIB_DIR, 0);
    try {
        model_phase(demo_model());
        if (!inference_phase(demo_model())) {
            std::cout << "loom-demo: FAILED: the inference does not match the reference output\n";
            return 1;
        }
        auto deployment = kernel::load_deployment(config);
        bus::Context context(deployment.context);
        kernel::Kernel k(context, deployment.kernel);
        std::cout << "loom-demo: kernel at " << k.endpoints().back() << "\n";
        for (const auto& spec : deployment.components) {
            auto r = k.start(spec);
            std::cout << fmt::format("  started {:<9} v{} {:<11} pid {:<7} {}\n", r.name, r.version,
                                     kernel::to_string(r.placement), r.pid, r.endpoints.front());
        }
        kernel::KernelClient kc(context, k.endpoints().front());
        kernel::RoutedChannel in_process(context, kc, "echo");
        kernel::RoutedChannel other_process(context, kc, "echo-ipc");
        std::cout << fmt::format("  paths: echo via {}, echo-ipc via {}\n", in_process.endpoint(),
                                 other_process.endpoint());
        Load a, b;
        std::vector<std::thread> threads;
        for (int i = 0; i < 2; ++i) {
            threads.emplace_back([&] { client(in_process, a); });
            threads.emplace_back([&] { client(other_process, b); });
        }
        let_through(a, b, 2000);
        report("before the swap:", a, b);

        auto lib = std::filesystem::path(LOOM_DEMO_LIB_DIR);
        for (const auto& spec : deployment.components) {
            auto replacement = spec;
            replacement.library = (lib / "libloom_test_component_v2.so").string();
            auto t0 = bus::Clock::now();
            auto r = k.swap(spec.name, replacement);
            std::cout << fmt::format(
                "  swapped {} to v{} (instance {}, epoch {}) under load in {:.0f} ms\n", r.name,
                r.version, r.instance, r.epoch,
                std::chrono::duration<double, std::milli>(bus::Clock::now() - t0).count());
        }
        let_through(a, b, 2000);
        a.stop = b.stop = true;
        for (auto& t : threads)
            t.join();
        report("after swapping to v2:", a, b);

        std::cout << "  components:\n";
        for (const auto& r : k.list())
            std::cout << fmt::format("    {:<9} instance {} v{} {:<8}{}\n", r.name, r.instance,
                                     r.version, kernel::to_string(r.state),
                                     r.routed       ? " (routed)"
                                     : r.clean_stop ? " (drained)"
                                                    : "");
        k.shutdown();
        auto failed = a.failed.load() + b.failed.load();
        if (failed) {
            std::cout << "loom-demo: FAILED: " << failed << " request(s) failed; first: "
                      << (a.first_error.empty() ? b.first_error : a.first_error) << "\n";
            return 1;
        }
        std::cout << "loom-demo: OK: " << a.ok + b.ok
                  << " requests, none failed across the swaps\n";
        return 0;
    } catch (const Error& e) {
        std::cerr << "loom-demo: error: " << e.what() << "\n";
        return 1;
    }
}
