// The reference device (REFERENCE): runs every native op with the reference kernels through the
// Plan interpreter — the oracle other devices are checked against (DESIGN.md §6).

#include <cstring>
#include <mutex>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "components/model/registry_host.hpp"
#include "components/model/serialize.hpp"
#include "components/passes/passes.hpp"
#include "components/reference/interpreter.hpp"
#include "plugins/sdk/device_service.hpp"
#include "plugins/sdk/plugin.hpp"
#include "plugins/sdk/wire.hpp"
#include "schemas/error.hpp"

namespace loom::reference {

namespace {

using sdk::NodeProfile;
using sdk::PortInfo;

constexpr char k_blob_magic[8] = {'L', 'O', 'O', 'M', 'R', 'E', 'F', '1'};
const char* const k_device = "REFERENCE";

const std::vector<std::string>& supported_property_names() {
    static const std::vector<std::string> names{props::device_full_name.name,
                                                props::supported_properties.name,
                                                props::enable_profiling.name,
                                                props::performance_mode.name,
                                                props::num_requests.name,
                                                props::inference_precision.name,
                                                props::optimal_number_of_infer_requests.name,
                                                props::device_capabilities.name};
    return names;
}

struct Shared { // what every compiled model and request of the device shares (immutable)
    std::shared_ptr<model::RegistryHost> registry; // the process's op registry snapshots
    std::shared_ptr<const KernelTable> kernels;
};

bool uses_extensions(const Model& m, const model::OpRegistry& registry) {
    for (const auto* n : m.nodes()) {
        if (const auto* spec = registry.find(n->type, n->version); spec && !spec->origin.empty())
            return true;
        for (const auto& body : n->bodies)
            if (body.model && uses_extensions(*body.model, registry)) return true;
    }
    return false;
}

// The plans of one compiled model, one per registry snapshot it was prepared for (DESIGN.md §5).
// A request pins the plan of the snapshot current when it starts; a swap prepares the new
// snapshot's plan (checking the model's output types and shapes) before it is published. A model
// without extension ops has one plan whatever the snapshot.
class PlanSet final : public model::SnapshotUser {
public:
    struct Prepared {
        std::shared_ptr<const model::OpRegistry> registry; // keeps extension libraries loaded
        std::shared_ptr<const Plan> plan;
    };

    PlanSet(std::shared_ptr<const Model> m, std::shared_ptr<const Shared> shared,
            std::shared_ptr<const model::OpRegistry> snapshot)
        : m_model(std::move(m))
        , m_shared(std::move(shared))
        , m_dynamic(uses_extensions(*m_model, *snapshot)) {
        m_active = snapshot->generation();
        m_plans[m_active] = make(std::move(snapshot));
    }

    // Registers for swaps (until destroyed); only models with extension ops need to.
    void watch() {
        if (m_dynamic) m_watch = m_shared->registry->watch(*this);
    }

    Prepared for_run() const {
        const auto current = m_dynamic ? m_shared->registry->current()->generation() : 0;
        std::lock_guard lock(m_mutex);
        // The current snapshot's plan once prepared for it; otherwise (a snapshot published
        // without preparing, e.g. after an unload) the plan in force.
        auto it = m_plans.find(current);
        return it != m_plans.end() ? it->second : m_plans.at(m_active);
    }

    void prepare(const std::shared_ptr<const model::OpRegistry>& candidate) override {
        if (!m_dynamic) return;
        auto copy = m_model->clone();
        try {
            model::infer_and_validate(*copy, *candidate);
        } catch (const Error& e) {
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "compiled model '{}' cannot use it: {}",
                       m_model->name, e.message());
        }
        auto a = m_model->nodes();
        auto b = copy->nodes();
        for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
            for (std::size_t o = 0; o < a[i]->outputs.size() && o < b[i]->outputs.size(); ++o) {
                const auto& was = a[i]->outputs[o];
                const auto& now = b[i]->outputs[o];
                if (was.type != now.type || was.shape != now.shape)
                    LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                               "compiled model '{}': node '{}' ({}@{}) output {} would change "
                               "from {} {} to {} {}",
                               m_model->name, a[i]->name, a[i]->type, a[i]->version, o,
                               loom::to_string(was.type), was.shape.to_string(),
                               loom::to_string(now.type), now.shape.to_string());
            }
        auto prepared = make(candidate);
        std::lock_guard lock(m_mutex);
        m_plans[candidate->generation()] = std::move(prepared);
    }

    void settle(std::uint64_t generation) noexcept override {
        if (!m_dynamic) return;
        std::vector<Prepared> dropped; // released outside the lock: may unmap a library
        std::lock_guard lock(m_mutex);
        if (m_plans.contains(generation)) m_active = generation;
        // Running requests hold their own references to the plans dropped here.
        for (auto it = m_plans.begin(); it != m_plans.end();) {
            if (it->first == m_active) {
                ++it;
                continue;
            }
            dropped.push_back(std::move(it->second));
            it = m_plans.erase(it);
        }
    }

private:
    Prepared make(std::shared_ptr<const model::OpRegistry> snapshot) const {
        auto plan = std::make_shared<const Plan>(*m_model, *snapshot, *m_shared->kernels);
        return {std::move(snapshot), std::move(plan)};
    }

    std::shared_ptr<const Model> m_model;
    std::shared_ptr<const Shared> m_shared;
    const bool m_dynamic;
    mutable std::mutex m_mutex; // guards m_plans, m_active
    std::map<std::uint64_t, Prepared> m_plans;
    std::uint64_t m_active = 0; // the generation requests use when there is no plan for current
    model::Watch m_watch;       // last: unregisters before anything else goes
};

class ReferenceRequest final : public sdk::SyncInferRequest {
public:
    ReferenceRequest(std::shared_ptr<const Model> m, std::shared_ptr<const PlanSet> plans,
                     std::shared_ptr<const Shared> shared, bool profiling)
        : SyncInferRequest(sdk::input_ports(*m), sdk::output_ports(*m))
        , m_model(std::move(m))
        , m_plans(std::move(plans))
        , m_shared(std::move(shared))
        , m_profiling(profiling) {}

    void infer() override {
        begin_infer();
        std::vector<Tensor> in;
        for (std::size_t i = 0; i < inputs().size(); ++i)
            in.push_back(input(i));
        // Pinned for the whole run: every extension op of it runs one version (DESIGN.md §5).
        const auto pinned = m_plans->for_run();
        RunState run{pinned.registry.get(), m_shared->kernels.get(), &m_vars, &m_cancel};
        auto out = pinned.plan->run(in, run, m_profiling ? &m_profile : nullptr);
        for (std::size_t i = 0; i < out.size(); ++i)
            store_output(i, out[i]);
    }

    std::vector<NodeProfile> profiling_info() const override {
        std::vector<NodeProfile> out;
        for (const auto& p : m_profile) {
            NodeProfile n{p.name, p.type, p.executed ? p.exec_type : "",
                          p.executed ? NodeProfile::Status::EXECUTED : NodeProfile::Status::NOT_RUN,
                          p.real_time_us};
            out.push_back(std::move(n));
        }
        return out;
    }

    std::vector<std::pair<std::string, Tensor>> query_state() const override {
        std::vector<std::pair<std::string, Tensor>> out;
        for (const auto* n : m_model->nodes()) {
            if (n->type != "ReadValue") continue;
            const auto& id = n->attrs.get<std::string>("variable_id");
            auto it = m_vars.values.find(id);
            if (it != m_vars.values.end())
                out.emplace_back(id, it->second);
            else if (n->outputs.at(0).shape.is_static())
                out.emplace_back(
                    id, Tensor::allocate(n->outputs[0].type, n->outputs[0].shape.to_shape()));
            else
                out.emplace_back(id, Tensor{});
        }
        return out;
    }

    void set_state(const std::string& name, const Tensor& value) override {
        require_variable(name);
        m_vars.values[name] = Tensor::copy_of(value.element_type(), value.shape(), value.bytes());
    }

    void reset_state(const std::string& name) override {
        if (name.empty()) {
            m_vars.values.clear();
            return;
        }
        require_variable(name);
        if (auto it = m_vars.values.find(name); it != m_vars.values.end()) m_vars.values.erase(it);
    }

private:
    void require_variable(const std::string& name) const {
        for (const auto* n : m_model->nodes())
            if (n->type == "ReadValue" && n->attrs.get<std::string>("variable_id") == name) return;
        LOOM_THROW(ErrorKind::NOT_FOUND, "the model has no variable '{}'", name);
    }

    std::shared_ptr<const Model> m_model;
    std::shared_ptr<const PlanSet> m_plans;
    std::shared_ptr<const Shared> m_shared;
    bool m_profiling;
    VariableStore m_vars;
    Profile m_profile;
};

class ReferenceCompiledModel final : public sdk::CompiledModel {
public:
    ReferenceCompiledModel(std::shared_ptr<const Model> m, std::shared_ptr<const Shared> shared,
                           std::shared_ptr<const model::OpRegistry> snapshot, Properties props)
        : m_model(std::move(m))
        , m_shared(std::move(shared))
        , m_props(std::move(props))
        , m_inputs(sdk::input_ports(*m_model))
        , m_outputs(sdk::output_ports(*m_model)) {
        auto plans = std::make_shared<PlanSet>(m_model, m_shared, std::move(snapshot));
        plans->watch();
        m_plans = std::move(plans);
    }

    const std::vector<PortInfo>& inputs() const override { return m_inputs; }
    const std::vector<PortInfo>& outputs() const override { return m_outputs; }

    std::shared_ptr<sdk::SyncInferRequest> create_sync_infer_request() const override {
        return std::make_shared<ReferenceRequest>(m_model, m_plans, m_shared,
                                                  m_props.get_or(props::enable_profiling, false));
    }

    std::vector<std::byte> export_model() const override;

    std::shared_ptr<Model> runtime_model() const override {
        auto m = m_model->clone();
        const auto registry = m_plans->for_run().registry;
        for (auto* n : m->nodes()) {
            model::RtNode info;
            info.tag = "exec";
            const bool kernel =
                n->type != "Parameter" && n->type != "Constant" && n->type != "Result";
            const auto* spec = registry->find(n->type, n->version);
            const bool extension = spec && !spec->origin.empty();
            // The entry the Plan chose for the node (the same lookup on the same node).
            const auto* entry =
                kernel && !extension ? m_shared->kernels->find(*n, *registry) : nullptr;
            info.attributes = {
                {"execType", extension ? "extension"
                             : entry   ? entry->name
                             : kernel  ? "ref"
                                       : n->type},
                {"originalLayers", n->name},
                {"runtimePrecision", n->outputs.empty()
                                         ? std::string("undefined")
                                         : std::string(loom::to_string(n->outputs[0].type))}};
            n->rt_info.children.push_back(std::move(info));
        }
        return m;
    }

    std::string get_property(const std::string& name) const override {
        if (name == props::optimal_number_of_infer_requests.name) return "1";
        if (m_props.has(name)) return m_props.text(name);
        if (name == props::enable_profiling.name) return "NO";
        if (name == props::performance_mode.name) return "LATENCY";
        if (name == props::inference_precision.name) return "f32";
        if (name == props::supported_properties.name) return to_text(supported_property_names());
        LOOM_THROW(ErrorKind::NOT_FOUND, "the compiled model has no property {}", name);
    }

private:
    std::shared_ptr<const Model> m_model;
    std::shared_ptr<const Shared> m_shared;
    Properties m_props;
    std::vector<PortInfo> m_inputs, m_outputs;
    std::shared_ptr<const PlanSet> m_plans;
};

// Blob: magic, Loom version (u64 length + text, zero-padded to 8 bytes), properties and graph as
// one Cap'n Proto flat message (u64 size + words, 8-byte aligned), then the constants (u64 count,
// then u64 size + bytes each, 64-byte aligned).
void put_u64(std::vector<std::byte>& out, std::uint64_t v) {
    auto* p = reinterpret_cast<const std::byte*>(&v);
    out.insert(out.end(), p, p + sizeof v);
}

std::vector<std::byte> ReferenceCompiledModel::export_model() const {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::ModelRequest>();
    std::vector<Tensor> constants;
    model::write_graph(*m_model, root.initModel(), constants);
    sdk::wire::put_properties(root.initProperties(static_cast<unsigned>(m_props.values().size())),
                              m_props);
    auto words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    std::vector<std::byte> out;
    for (char c : k_blob_magic)
        out.push_back(static_cast<std::byte>(c));
    const std::string version = LOOM_VERSION;
    put_u64(out, version.size());
    for (char c : version)
        out.push_back(static_cast<std::byte>(c));
    out.resize((out.size() + 7) / 8 * 8); // the message's words are read in place
    put_u64(out, bytes.size());
    out.insert(out.end(), reinterpret_cast<const std::byte*>(bytes.begin()),
               reinterpret_cast<const std::byte*>(bytes.end()));
    put_u64(out, constants.size());
    for (const auto& t : constants) {
        put_u64(out, t.byte_size());
        out.resize((out.size() + 63) / 64 * 64); // constants start 64-byte aligned
        out.insert(out.end(), t.bytes().begin(), t.bytes().end());
    }
    return out;
}

class BlobReader {
public:
    explicit BlobReader(std::span<const std::byte> b)
        : m_bytes(b) {}
    std::uint64_t u64() {
        auto s = take(sizeof(std::uint64_t));
        std::uint64_t v = 0;
        std::memcpy(&v, s.data(), sizeof v);
        return v;
    }
    void align(std::size_t a) { take((a - m_pos % a) % a); }
    std::span<const std::byte> take(std::uint64_t n) {
        LOOM_REQUIRE(n <= m_bytes.size() - m_pos,
                     "the exported model is truncated ({} bytes needed at offset {} of {})", n,
                     m_pos, m_bytes.size());
        auto s = m_bytes.subspan(m_pos, n);
        m_pos += n;
        return s;
    }

private:
    std::span<const std::byte> m_bytes;
    std::size_t m_pos = 0;
};

class ReferencePlugin final : public sdk::Plugin {
public:
    explicit ReferencePlugin(std::shared_ptr<model::RegistryHost> registry)
        : m_shared(make_shared_tables(std::move(registry)))
        , m_context(std::make_shared<sdk::HostRemoteContext>(k_device)) {}

    const std::string& device_name() const override { return m_name; }
    std::string full_name() const override {
        return "Loom reference device (portable reference kernels, the oracle)";
    }

    std::string get_property(const std::string& name) const override {
        if (name == props::device_full_name.name) return full_name();
        if (name == props::supported_properties.name) return to_text(supported_property_names());
        if (name == props::device_capabilities.name) return "FP32 FP16 INT8 EXPORT_IMPORT";
        if (name == props::optimal_number_of_infer_requests.name) return "1";
        std::lock_guard lock(m_mutex);
        if (m_props.has(name)) return m_props.text(name);
        if (name == props::enable_profiling.name) return "NO";
        if (name == props::performance_mode.name) return "LATENCY";
        if (name == props::inference_precision.name) return "f32";
        if (name == props::num_requests.name) return "0";
        LOOM_THROW(ErrorKind::NOT_FOUND, "{} has no property {}", m_name, name);
    }

    void set_property(const Properties& p) override {
        check(p);
        std::lock_guard lock(m_mutex);
        m_props.merge(p);
    }

    std::vector<std::string> query_model(const Model& m, const Properties&) const override {
        std::vector<std::string> out;
        const auto registry = m_shared->registry->current();
        for (const auto* n : m.nodes())
            if (n->type == "Parameter" || n->type == "Constant" || n->type == "Result" ||
                m_shared->kernels->find(*n, *registry) || extension_op(*n, *registry))
                out.push_back(n->name);
        return out;
    }

    std::vector<std::pair<std::string, bool>> op_coverage() const override {
        std::vector<std::pair<std::string, bool>> out;
        const auto registry = m_shared->registry->current();
        for (const auto* spec : registry->all()) {
            const bool interface =
                spec->type == "Parameter" || spec->type == "Constant" || spec->type == "Result";
            const bool extension = !spec->origin.empty() && spec->evaluate;
            out.emplace_back(spec->type + ":" + spec->version,
                             interface || extension ||
                                 m_shared->kernels->find(spec->type, spec->version));
        }
        return out;
    }

    std::shared_ptr<sdk::CompiledModel> compile_model(std::shared_ptr<const Model> m,
                                                      const Properties& p) override {
        check(p);
        Properties merged;
        {
            std::lock_guard lock(m_mutex);
            merged = m_props;
        }
        merged.merge(p);
        auto snapshot = m_shared->registry->current();
        return std::make_shared<ReferenceCompiledModel>(
            with_precision(std::move(m), merged, *snapshot), m_shared, std::move(snapshot), merged);
    }

    std::shared_ptr<sdk::CompiledModel> import_model(std::span<const std::byte> blob,
                                                     const Properties& p) override;

    std::shared_ptr<sdk::RemoteContext> default_context() override { return m_context; }

private:
    static std::shared_ptr<const Shared>
    make_shared_tables(std::shared_ptr<model::RegistryHost> registry) {
        auto s = std::make_shared<Shared>();
        s->registry = registry ? std::move(registry) : model::make_native_registry_host();
        s->kernels = make_reference_kernels();
        return s;
    }
    // The model's own precision by default (the oracle); INFERENCE_PRECISION_HINT f32 runs an
    // f16 model in f32, as OpenVINO's CPU device does.
    static std::shared_ptr<const Model> with_precision(std::shared_ptr<const Model> m,
                                                       const Properties& p,
                                                       const model::OpRegistry& registry) {
        if (!p.has(props::inference_precision.name) ||
            p.get(props::inference_precision) != ElementType::F32)
            return m;
        auto copy = m->clone();
        passes::PassManager pm;
        pm.add(passes::make_f16_to_f32_pass());
        pm.run(*copy, registry);
        return copy;
    }
    static void check(const Properties& p) {
        check_properties(p, {props::device_full_name.name});
        if (p.has(props::inference_precision.name)) {
            auto t = p.get(props::inference_precision);
            LOOM_REQUIRE(t == ElementType::F32 || t == ElementType::UNDEFINED,
                         "{}: the reference device computes in the model's own precision; "
                         "INFERENCE_PRECISION_HINT {} is not supported (use f32)",
                         k_device, loom::to_string(t));
        }
    }

    std::string m_name = k_device;
    std::shared_ptr<const Shared> m_shared;
    std::shared_ptr<sdk::RemoteContext> m_context;
    mutable std::mutex m_mutex; // guards m_props
    Properties m_props;
};

std::shared_ptr<sdk::CompiledModel> ReferencePlugin::import_model(std::span<const std::byte> blob,
                                                                  const Properties& p) {
    // Keep one 64-byte aligned copy of the blob: the graph's constants view it.
    auto storage = Tensor::copy_of(ElementType::U8, {static_cast<std::int64_t>(blob.size())}, blob);
    BlobReader in(storage.bytes());
    auto magic = in.take(sizeof k_blob_magic);
    LOOM_REQUIRE(std::memcmp(magic.data(), k_blob_magic, sizeof k_blob_magic) == 0,
                 "this is not a model exported by the {} device", k_device);
    auto version_bytes = in.take(in.u64());
    std::string version(reinterpret_cast<const char*>(version_bytes.data()), version_bytes.size());
    LOOM_REQUIRE(version == LOOM_VERSION,
                 "the model was exported by Loom {}, this is Loom {}: compile it again", version,
                 LOOM_VERSION);
    in.align(8);
    auto message_bytes = in.take(in.u64());
    LOOM_REQUIRE(message_bytes.size() % 8 == 0 &&
                     reinterpret_cast<std::uintptr_t>(message_bytes.data()) % 8 == 0,
                 "the exported model is corrupt (misaligned message)");
    kj::ArrayPtr<const capnp::word> words(
        reinterpret_cast<const capnp::word*>(message_bytes.data()), message_bytes.size() / 8);
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 1ull << 32;
    capnp::FlatArrayMessageReader reader(words, options);
    auto root = reader.getRoot<schema::ModelRequest>();
    std::vector<model::FrameView> frames;
    const auto count = in.u64();
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto size = in.u64();
        in.align(64);
        frames.push_back({in.take(size), storage.owner()});
    }
    auto m = model::read_graph(root.getModel(), frames);
    auto snapshot = m_shared->registry->current();
    model::infer_and_validate(*m, *snapshot);
    auto props = sdk::wire::take_properties(root.getProperties());
    props.merge(p);
    return std::make_shared<ReferenceCompiledModel>(std::move(m), m_shared, std::move(snapshot),
                                                    props);
}

std::shared_ptr<sdk::Plugin> make_plugin(const kernel::ComponentArgs& args) {
    return std::make_shared<ReferencePlugin>(args.registry);
}

} // namespace

} // namespace loom::reference

LOOM_PLUGIN(loom::reference::make_plugin)
