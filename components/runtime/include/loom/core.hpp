#pragma once
// Loom's public C++ API (DESIGN.md §1, §6) — the client side of the bus, shaped like OpenVINO's.
// Users include it as <loom/core.hpp>; it pulls in no Cap'n Proto or ZeroMQ header.
//
//   loom::Core core;                                   // embedded deployment (in process)
//   auto model = core.read_model("model.onnx");        // reader component
//   auto compiled = core.compile_model(model, "REFERENCE"); // transform + device component
//   auto request = compiled.create_infer_request();
//   request.set_tensor("x", loom::Tensor(loom::ElementType::F32, {1, 3, 224, 224}, ptr));
//   request.infer();
//   loom::Tensor y = request.get_tensor("y");
//
// Thread safety (as OpenVINO's): Core and CompiledModel may be used from many threads at once;
// an InferRequest by one thread at a time (create one per thread). Model is a value-like handle:
// reshape() changes the model every copy of the handle shares — reshape before sharing it.
// Lifetimes: CompiledModel and InferRequest keep what they need alive (the deployment, the
// device's objects); they may outlive the Core that made them.
// Errors: loom::Error (schemas/error.hpp) with a kind — invalid_argument for a bad input (the
// message names it), not_found for an unknown device/tensor name, disconnected when a component
// died, cancelled after cancel().

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/properties.hpp"
#include "components/protocol/port.hpp"

namespace loom::model {
class OpRegistry;   // components/model/op_registry.hpp
class RegistryHost; // components/model/registry_host.hpp
} // namespace loom::model

namespace loom {

using model::PartialShape;
using model::Shape;

// A host tensor: element type, static shape and bytes. Copies share the bytes. Made by Loom
// (64-byte aligned, owned) or wrapping the caller's memory (no copy; the caller keeps it alive
// and unchanged while a request uses it).
class Tensor {
public:
    Tensor() = default;
    Tensor(ElementType type, const Shape& shape);                    // zero-filled, owned
    Tensor(ElementType type, const Shape& shape, void* host_memory); // wraps, no copy
    explicit Tensor(model::Tensor impl)
        : m_impl(std::move(impl)) {}

    bool empty() const noexcept { return m_impl.empty(); }
    ElementType element_type() const noexcept { return m_impl.element_type(); }
    const Shape& shape() const noexcept { return m_impl.shape(); }
    std::int64_t size() const noexcept { return m_impl.size(); }
    std::size_t byte_size() const noexcept { return m_impl.byte_size(); }
    void* data() const noexcept { return m_impl.mutable_data(); }
    template <class T>
    T* data() const noexcept {
        return reinterpret_cast<T*>(m_impl.mutable_data());
    }
    const model::Tensor& impl() const noexcept { return m_impl; }

private:
    model::Tensor m_impl;
};

// One input or output of a model or compiled model (index, name, every tensor name, element
// type, partial shape) — the device protocol's own port type.
using Port = protocol::Port;

struct ExtensionInfo {
    std::string name;
    std::string version;
    std::string source;
    std::vector<std::string> ops;         // "Type@domain"
    std::vector<std::string> conversions; // "framework:domain:Type"
};

class Model {
public:
    Model() = default;
    // `registry`: the op registry snapshot the model was read with (extension ops included;
    // reshape re-infers with it). Null: the native op set.
    explicit Model(std::shared_ptr<model::Model> impl,
                   std::shared_ptr<const model::OpRegistry> registry = nullptr);

    std::vector<Port> inputs() const;
    std::vector<Port> outputs() const;
    Port input(const std::string& name) const; // not_found naming it
    Port output(const std::string& name) const;
    // Sets input shapes (by tensor name) and re-infers every shape; invalid_argument naming the
    // input when a shape does not fit the model.
    void reshape(const std::map<std::string, PartialShape>& shapes);
    void reshape(const PartialShape& shape); // the single input's shape
    bool is_dynamic() const;
    const std::shared_ptr<model::Model>& impl() const noexcept { return m_impl; }

private:
    std::shared_ptr<model::Model> m_impl;
    std::shared_ptr<const model::OpRegistry> m_registry;
};

struct ProfilingInfo {
    enum class Status { NOT_RUN, OPTIMIZED_OUT, EXECUTED };
    Status status = Status::NOT_RUN;
    std::string node_name;
    std::string node_type;
    std::string exec_type;
    std::chrono::microseconds real_time{0};
};

struct CompiledModelState;
struct RequestState;

// A compiled model whose inferences something other than one device runs — a pipeline
// (<loom/pipeline.hpp>) — handed to Core::adopt to be used exactly like a device's
// CompiledModel (requests, sync/async, callbacks, cancel, bound outputs, properties).
// Implementations are thread-safe: infer() runs on many threads at once.
class CompiledModelImpl {
public:
    virtual ~CompiledModelImpl() = default;
    virtual const std::vector<Port>& inputs() const = 0;
    virtual const std::vector<Port>& outputs() const = 0;
    // One inference: `inputs` in port order, each set; returns the outputs in port order.
    // `cancelled` turns true when the caller cancels: stop soon and throw `cancelled`.
    virtual std::vector<Tensor> infer(const std::vector<Tensor>& inputs,
                                      const std::atomic<bool>& cancelled) = 0;
    // A property ("OPTIMAL_NUMBER_OF_INFER_REQUESTS" …); not_found naming it when unknown.
    virtual std::string get_property(const std::string& name) const = 0;
    // What CompiledModel::device() reports, e.g. "PIPELINE:ocr".
    virtual const std::string& device() const = 0;
};

// The stored value of one ReadValue/Assign variable of a request.
class VariableState {
public:
    const std::string& name() const noexcept { return m_name; }
    Tensor state() const; // the current value
    void set_state(const Tensor& value);
    void reset(); // back to the initial value

private:
    friend class InferRequest;
    VariableState(std::shared_ptr<RequestState> request, std::string name)
        : m_request(std::move(request))
        , m_name(std::move(name)) {}
    std::shared_ptr<RequestState> m_request;
    std::string m_name;
};

class InferRequest {
public:
    InferRequest() = default;

    // By tensor name, port or index. Input tensors are used without copying where the device
    // can (in process); setting an output binds a preallocated tensor the results are written
    // into (like ONNX Runtime's IOBinding). Checked against the port at set time:
    // invalid_argument naming the port on a wrong type or an incompatible shape.
    void set_tensor(const std::string& name, const Tensor& tensor);
    void set_tensor(const Port& port, const Tensor& tensor);
    void set_input_tensor(std::size_t index, const Tensor& tensor);
    void set_input_tensor(const Tensor& tensor); // the single input
    void set_output_tensor(std::size_t index, const Tensor& tensor);
    // The tensor bound or produced for a port (outputs after infer()).
    Tensor get_tensor(const std::string& name) const;
    Tensor get_tensor(const Port& port) const;
    Tensor get_input_tensor(std::size_t index = 0) const;
    Tensor get_output_tensor(std::size_t index = 0) const;

    void infer(); // synchronous; cancel() from another thread ends it with `cancelled`
    // Starts an inference and returns at once; wait()/wait_for() for its end. The callback (if
    // set) runs exactly once per start_async, on a Loom thread, with null or the error.
    void start_async();
    void wait(); // rethrows the inference's error
    // True when finished within `timeout` (then errors are rethrown as by wait()).
    bool wait_for(std::chrono::milliseconds timeout);
    void set_callback(std::function<void(std::exception_ptr)> callback);
    // Stops the running or pending inference: it ends with `cancelled` (unless it already
    // finished). No effect when idle.
    void cancel();

    std::vector<ProfilingInfo> get_profiling_info() const; // needs PERF_COUNT=YES
    std::vector<VariableState> query_state() const;
    void reset_state();

    const std::vector<Port>& inputs() const;
    const std::vector<Port>& outputs() const;

private:
    friend class CompiledModel;
    explicit InferRequest(std::shared_ptr<RequestState> state)
        : m_state(std::move(state)) {}
    RequestState& state() const;
    std::shared_ptr<RequestState> m_state;
};

class CompiledModel {
public:
    CompiledModel() = default;

    InferRequest create_infer_request() const;
    const std::vector<Port>& inputs() const;
    const std::vector<Port>& outputs() const;
    Port input(const std::string& name = {}) const;
    Port output(const std::string& name = {}) const;
    // The device's serialised form; Core::import_model reads it back.
    void export_model(std::ostream& out) const;
    std::string get_property(const std::string& name) const;
    template <class T>
    T get_property(PropertyKey<T> key) const {
        return from_text<T>(key.name, get_property(key.name));
    }
    // The graph the device runs, each node's rt_info carrying "execType", "originalLayers"
    // and "runtimePrecision" (OpenVINO's exec graph convention).
    Model runtime_model() const;
    const std::string& device() const;

private:
    friend class Core;
    explicit CompiledModel(std::shared_ptr<CompiledModelState> state)
        : m_state(std::move(state)) {}
    std::shared_ptr<CompiledModelState> m_state;
};

// Where the Core's components run (DESIGN.md §1): everything in this process by default, or
// a running deployment's (`kernel`).
struct CoreOptions {
    // Attach to the running deployment whose kernel (`loom kernel`) is at this endpoint
    // (ipc://PATH, tcp://HOST:PORT) instead of building an embedded one: its reader, transform,
    // extension loader and devices — "CPU", and devices on other hosts that registered with it
    // ("CPU@nodeb", `loom serve --device CPU --name nodeb`). Models named by path are read here
    // and sent as bytes. The options below about placement and library_dir do not apply then.
    std::string kernel;
    // The kernel's CURVE public key (file or Z85) for a tcp:// kernel, with client_key_file.
    std::string kernel_key;
    // Host each device plugin in its own child process (`loom serve`), as a remote box would.
    bool devices_out_of_process = false;
    bool model_components_out_of_process = false; // reader and transform
    // Component and plugin libraries; empty: LOOM_LIB_DIR, else beside libloom_runtime.
    std::filesystem::path library_dir;
    // The lease of this Core's session with each device (DESIGN.md §6): if this process dies,
    // freezes or is cut off, the device releases what it compiled for it this long after.
    // Renewed every third of it while the Core or anything it made lives.
    std::chrono::milliseconds device_session_lease{std::chrono::seconds(10)};
    // Deadline of the calls made while releasing device objects (destructors): a dead or frozen
    // device never blocks a destructor longer than this.
    std::chrono::milliseconds release_timeout{std::chrono::seconds(1)};
    // CURVE for the tcp:// endpoints this Core calls (an extension hosted on another machine,
    // add_extension("tcp://…"), a device named by endpoint, "CPU@tcp://…"): this client's key
    // pair file (`loom keygen`), and the server public key (file or Z85) of each endpoint.
    std::filesystem::path client_key_file;
    std::map<std::string, std::string> server_keys;
    // Attached (`kernel`) from inside the kernel's own process: the op registry that process's
    // components share, so that extensions the deployment's in-process loader installs are
    // this Core's too (a pipeline's op nodes run here). Null: a registry of the Core's own.
    std::shared_ptr<model::RegistryHost> process_registry;
};

struct DeploymentState;

class Core {
public:
    explicit Core(CoreOptions options = {});
    ~Core();
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

    // IR (.xml + .bin) or ONNX, through the reader component.
    Model read_model(const std::string& path) const;
    // ONNX bytes, or IR XML with its weights.
    Model read_model(std::span<const std::byte> model, std::span<const std::byte> weights) const;

    // Runs the transform pipeline (LOOM_TRANSFORM_PIPELINE, default "common") and the device's
    // compile. With CACHE_DIR set, the first compile exports the result there and later compiles
    // import it; the key covers the model, Loom's version, the device and its properties.
    CompiledModel compile_model(const Model& model, const std::string& device,
                                const Properties& properties = {}) const;
    CompiledModel compile_model(const std::string& path, const std::string& device,
                                const Properties& properties = {}) const;
    CompiledModel import_model(std::istream& in, const std::string& device,
                               const Properties& properties = {}) const;
    // A CompiledModel whose inferences `impl` runs (asynchronous ones on this Core's threads).
    CompiledModel adopt(std::shared_ptr<CompiledModelImpl> impl) const;
    // Node name → device for every node the device supports.
    std::map<std::string, std::string> query_model(const Model& model, const std::string& device,
                                                   const Properties& properties = {}) const;

    std::vector<std::string> available_devices() const;
    // Device properties ("FULL_DEVICE_NAME", "SUPPORTED_PROPERTIES" …), or the Core's own with
    // device "" (CACHE_DIR, LOOM_TRANSFORM_PIPELINE).
    std::string get_property(const std::string& device, const std::string& name) const;
    template <class T>
    T get_property(const std::string& device, PropertyKey<T> key) const {
        return from_text<T>(key.name, get_property(device, key.name));
    }
    // Defaults for later compiles on `device` ("" = the Core's own: CACHE_DIR …).
    void set_property(const std::string& device, const Properties& properties);
    // Op coverage: for each (type, version) of the native op set, whether `device` runs it.
    std::vector<std::pair<std::string, bool>> op_coverage(const std::string& device) const;

    // Extensions (custom ops, DESIGN.md §5-§6). `source` is an extension library's path, or
    // the ipc:// / tcp:// endpoint of one hosted in a process of its own (`loom serve
    // --extension`). Loaded into this process and every device process of the Core; later
    // read_model/compile_model calls see its ops. Errors are typed: not_found (no file, no entry
    // symbol), unsupported (ABI version), invalid_argument (STB_GNU_UNIQUE symbols, an op that
    // exists already, a name that is loaded already), or the library's own.
    ExtensionInfo add_extension(const std::string& source);
    // Replaces extension `name` in the running deployment (DESIGN.md §4): requests running keep
    // the version they started with, later ones use the new one; refused (invalid_argument, the
    // old version keeps serving) unless the op types, attribute schemas and every compiled
    // model's output types and shapes stay the same.
    ExtensionInfo swap_extension(const std::string& name, const std::string& source);
    // Takes the extension's ops out of the registry now; compiled models using them keep
    // working, and the library is unmapped once the last of them is released.
    void remove_extension(const std::string& name);
    std::vector<ExtensionInfo> extensions() const;

private:
    friend struct CoreAccess; // components/runtime/core_access.hpp
    std::shared_ptr<DeploymentState> m_deployment;
};

// Loom's version ("0.1.0").
std::string version();

} // namespace loom
