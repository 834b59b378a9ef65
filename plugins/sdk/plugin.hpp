#pragma once
// The plugin SDK (DESIGN.md §6): the interfaces a device implements — Plugin, CompiledModel,
// SyncInferRequest (with AsyncInferRequest from components/protocol), RemoteContext/RemoteTensor
// — and the entry macro (device_service.hpp). A plugin library exports one function,
// `loom_create_plugin`, defined with LOOM_PLUGIN(factory): it checks the ABI version and hosts the
// Plugin as a bus service (the device component, device_service.hpp), so the Core reaches a device
// the same way in process, in another process (`loom serve`) or on another machine. No C++ object
// or exception crosses the library boundary: the entry returns a bus Service (which keeps the
// library loaded while it or anything it made lives) or an error kind and message.
//
// Threading (as OpenVINO's): Plugin and CompiledModel are called from many threads at once; a
// SyncInferRequest by one thread at a time, except cancel().

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "components/model/graph.hpp"
#include "components/model/properties.hpp"
#include "components/protocol/async_request.hpp"
#include "components/protocol/port.hpp"

namespace loom::plugins::sdk {

using model::Model;
using model::PartialShape;
using model::Shape;
using model::Tensor;

// The protocol's vocabulary, which a device speaks (components/protocol).
using protocol::AsyncInferRequest;
using protocol::Executor;
using protocol::ImmediateExecutor;
using protocol::input_ports;
using protocol::output_ports;
using protocol::Port;
using protocol::ThreadPoolExecutor;

struct NodeProfile {
    enum class Status : std::uint8_t { NOT_RUN = 0, OPTIMIZED_OUT = 1, EXECUTED = 2 };
    std::string name, type, exec_type;
    Status status = Status::NOT_RUN;
    std::int64_t real_time_us = 0;
};

// Device memory. The host implementation (HostRemoteContext) serves CPU-like devices: its
// tensors are ordinary host tensors.
class RemoteTensor {
public:
    virtual ~RemoteTensor() = default;
    virtual const std::string& device_name() const = 0;
    virtual ElementType element_type() const = 0;
    virtual const Shape& shape() const = 0;
    virtual Properties properties() const = 0;
    // A host view (CPU-like devices) or a copy to the host (others).
    virtual Tensor to_host() const = 0;
    // Copies host data in (type and shape must match: invalid_argument otherwise).
    virtual void from_host(const Tensor& host) = 0;
};

class RemoteContext {
public:
    virtual ~RemoteContext() = default;
    virtual const std::string& device_name() const = 0;
    virtual std::shared_ptr<RemoteTensor> create_tensor(ElementType type, const Shape& shape,
                                                        const Properties& params = {}) = 0;
};

class HostRemoteContext final : public RemoteContext {
public:
    explicit HostRemoteContext(std::string device)
        : m_device(std::move(device)) {}
    const std::string& device_name() const override { return m_device; }
    std::shared_ptr<RemoteTensor> create_tensor(ElementType type, const Shape& shape,
                                                const Properties& params = {}) override;

private:
    std::string m_device;
};

// Holds the tensors bound to a compiled model's ports and checks them; devices implement infer().
class SyncInferRequest {
public:
    SyncInferRequest(std::vector<Port> inputs, std::vector<Port> outputs);
    virtual ~SyncInferRequest() = default;
    SyncInferRequest(const SyncInferRequest&) = delete;
    SyncInferRequest& operator=(const SyncInferRequest&) = delete;

    const std::vector<Port>& inputs() const noexcept { return m_inputs; }
    const std::vector<Port>& outputs() const noexcept { return m_outputs; }
    // invalid_argument naming the port when the type differs or the shape does not fit its
    // partial shape; not_found for an unknown name.
    void set_input(std::size_t index, const Tensor& tensor);
    void set_output(std::size_t index, const Tensor& tensor); // a preallocated output
    std::size_t input_index(const std::string& name) const;
    std::size_t output_index(const std::string& name) const;
    const Tensor& input(std::size_t index) const;
    const Tensor& output(std::size_t index) const;

    // Runs one inference on the bound inputs; leaves results in output(i) (written into a
    // preallocated output when one was bound and its shape matches). invalid_argument naming
    // any unbound input. Ends with `cancelled` once cancel() was called.
    virtual void infer() = 0;
    virtual std::vector<NodeProfile> profiling_info() const { return {}; }
    // Variables (ReadValue/Assign): names and current values; set/reset.
    virtual std::vector<std::pair<std::string, Tensor>> query_state() const { return {}; }
    virtual void set_state(const std::string& name, const Tensor& value);
    virtual void reset_state(const std::string& name); // "" = every variable

    // Cancels inference number `sequence` (see set_sequence) — whether it is running or not yet
    // started, so a cancel that overtakes its inference is not lost; 0: whatever runs now.
    void cancel(std::uint64_t sequence = 0) noexcept;
    // Numbers the next infer() (increasing; 0 = unnumbered, cancellable only while it runs).
    void set_sequence(std::uint64_t sequence) noexcept { m_next_sequence.store(sequence); }

protected:
    // Called by infer() implementations: arms the cancel flag (set if this inference's number
    // was cancelled already), checks every input is bound.
    void begin_infer();
    // Stores results, copying into preallocated outputs whose shape matches.
    void store_output(std::size_t index, const Tensor& result);
    std::atomic<bool> m_cancel{false};
    std::atomic<std::uint64_t> m_next_sequence{0}, m_running{0}, m_cancelled_last{0};

private:
    std::vector<Port> m_inputs, m_outputs;
    std::vector<Tensor> m_input_tensors, m_output_tensors;
    std::vector<bool> m_output_bound;
};

class CompiledModel {
public:
    virtual ~CompiledModel() = default;
    virtual const std::vector<Port>& inputs() const = 0;
    virtual const std::vector<Port>& outputs() const = 0;
    virtual std::shared_ptr<SyncInferRequest> create_sync_infer_request() const = 0;
    // An async request on the device's executor (default: one stage running infer()).
    virtual std::shared_ptr<AsyncInferRequest> create_infer_request() const;
    // Bytes import_model() accepts on the same device and Loom version.
    virtual std::vector<std::byte> export_model() const = 0;
    // The graph the device runs, with exec info in rt_info (execType, originalLayers,
    // runtimePrecision).
    virtual std::shared_ptr<Model> runtime_model() const = 0;
    virtual std::string get_property(const std::string& name) const = 0;

protected:
    // The executor create_infer_request() uses (by default a pool of this compiled model,
    // made on first use).
    virtual std::shared_ptr<Executor> task_executor() const;

private:
    mutable std::once_flag m_executor_once;
    mutable std::shared_ptr<Executor> m_executor;
};

class Plugin {
public:
    virtual ~Plugin() = default;
    virtual const std::string& device_name() const = 0; // "REFERENCE"
    virtual std::string full_name() const = 0;
    // Device properties; not_found for an unknown name.
    virtual std::string get_property(const std::string& name) const = 0;
    virtual void set_property(const Properties& properties) = 0;
    // Names of the nodes it can run.
    virtual std::vector<std::string> query_model(const Model& model,
                                                 const Properties& properties) const = 0;
    // (type, version) of native ops → supported.
    virtual std::vector<std::pair<std::string, bool>> op_coverage() const = 0;
    virtual std::shared_ptr<CompiledModel> compile_model(std::shared_ptr<const Model> model,
                                                         const Properties& properties) = 0;
    // invalid_argument when `blob` is not this device's export (or from another version).
    virtual std::shared_ptr<CompiledModel> import_model(std::span<const std::byte> blob,
                                                        const Properties& properties) = 0;
    virtual std::shared_ptr<RemoteContext> default_context() = 0;
};

} // namespace loom::plugins::sdk
