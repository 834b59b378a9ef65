#include "plugins/sdk/plugin.hpp"

#include <cstring>

#include "schemas/error.hpp"

namespace loom::plugins::sdk {

namespace {

class HostTensor final : public RemoteTensor {
public:
    HostTensor(std::string device, Tensor t, Properties p)
        : m_device(std::move(device))
        , m_tensor(std::move(t))
        , m_props(std::move(p)) {}
    const std::string& device_name() const override { return m_device; }
    ElementType element_type() const override { return m_tensor.element_type(); }
    const Shape& shape() const override { return m_tensor.shape(); }
    Properties properties() const override { return m_props; }
    Tensor to_host() const override { return m_tensor; }
    void from_host(const Tensor& host) override {
        LOOM_REQUIRE(host.element_type() == m_tensor.element_type() &&
                         host.shape() == m_tensor.shape(),
                     "remote tensor on {} is {} {}, the host tensor {} {}", m_device,
                     loom::to_string(m_tensor.element_type()), model::to_string(m_tensor.shape()),
                     loom::to_string(host.element_type()), model::to_string(host.shape()));
        std::memcpy(m_tensor.mutable_data(), host.bytes().data(), host.byte_size());
    }

private:
    std::string m_device;
    Tensor m_tensor;
    Properties m_props;
};

} // namespace

std::shared_ptr<RemoteTensor> HostRemoteContext::create_tensor(ElementType type, const Shape& shape,
                                                               const Properties& params) {
    return std::make_shared<HostTensor>(m_device, Tensor::allocate(type, shape), params);
}

SyncInferRequest::SyncInferRequest(std::vector<Port> inputs, std::vector<Port> outputs)
    : m_inputs(std::move(inputs))
    , m_outputs(std::move(outputs))
    , m_input_tensors(m_inputs.size())
    , m_output_tensors(m_outputs.size())
    , m_output_bound(m_outputs.size(), false) {}

void SyncInferRequest::set_input(std::size_t index, const Tensor& tensor) {
    LOOM_REQUIRE(index < m_inputs.size(), "input index {} is out of range (the model has {})",
                 index, m_inputs.size());
    protocol::check_tensor("input", m_inputs[index], tensor);
    m_input_tensors[index] = tensor;
}

void SyncInferRequest::set_output(std::size_t index, const Tensor& tensor) {
    LOOM_REQUIRE(index < m_outputs.size(), "output index {} is out of range (the model has {})",
                 index, m_outputs.size());
    protocol::check_tensor("output", m_outputs[index], tensor);
    m_output_tensors[index] = tensor;
    m_output_bound[index] = true;
}

std::size_t SyncInferRequest::input_index(const std::string& name) const {
    return protocol::port_index(m_inputs, name, "input");
}
std::size_t SyncInferRequest::output_index(const std::string& name) const {
    return protocol::port_index(m_outputs, name, "output");
}

const Tensor& SyncInferRequest::input(std::size_t index) const {
    LOOM_REQUIRE(index < m_inputs.size(), "input index {} is out of range", index);
    return m_input_tensors[index];
}

const Tensor& SyncInferRequest::output(std::size_t index) const {
    LOOM_REQUIRE(index < m_outputs.size(), "output index {} is out of range", index);
    return m_output_tensors[index];
}

void SyncInferRequest::set_state(const std::string& name, const Tensor&) {
    LOOM_THROW(ErrorKind::NOT_FOUND, "the model has no variable '{}'", name);
}

void SyncInferRequest::reset_state(const std::string& name) {
    LOOM_REQUIRE(name.empty(), "the model has no variable '{}'", name);
}

// Ordering (all seq_cst): begin_infer clears the flag before it publishes the running number,
// and cancel publishes the cancelled number before it reads the running one, so whichever runs
// second sees the other's store and the flag ends set.
void SyncInferRequest::cancel(std::uint64_t sequence) noexcept {
    if (sequence == 0) {
        m_cancel.store(true);
        return;
    }
    auto seen = m_cancelled_last.load();
    while (seen < sequence && !m_cancelled_last.compare_exchange_weak(seen, sequence)) {
    }
    if (m_running.load() == sequence) m_cancel.store(true);
}

void SyncInferRequest::begin_infer() {
    m_cancel.store(false);
    const auto sequence = m_next_sequence.load();
    m_running.store(sequence);
    if (sequence != 0 && m_cancelled_last.load() == sequence) m_cancel.store(true);
    for (std::size_t i = 0; i < m_inputs.size(); ++i)
        LOOM_REQUIRE(!m_input_tensors[i].empty(), "input '{}' has no tensor (set_tensor it first)",
                     m_inputs[i].name);
}

void SyncInferRequest::store_output(std::size_t index, const Tensor& result) {
    auto& slot = m_output_tensors.at(index);
    if (m_output_bound[index] && slot.element_type() == result.element_type() &&
        slot.shape() == result.shape()) {
        if (slot.bytes().data() != result.bytes().data())
            std::memcpy(slot.mutable_data(), result.bytes().data(), result.byte_size());
        return;
    }
    slot = result;
}

std::shared_ptr<Executor> CompiledModel::task_executor() const {
    std::call_once(m_executor_once, [this] {
        m_executor = std::make_shared<ThreadPoolExecutor>(
            std::max(2u, std::thread::hardware_concurrency()), "loom-device");
    });
    return m_executor;
}

std::shared_ptr<AsyncInferRequest> CompiledModel::create_infer_request() const {
    auto sync = create_sync_infer_request();
    // The stage tags the device inference with the async request's sequence number, so a cancel
    // that comes before the stage reaches infer() still applies to it. (A stage runs only while
    // its request lives: the request's destructor waits for it.)
    auto self = std::make_shared<const AsyncInferRequest*>(nullptr);
    auto async = std::make_shared<AsyncInferRequest>(
        std::vector<AsyncInferRequest::Stage>{{task_executor(),
                                               [sync, self] {
                                                   sync->set_sequence((*self)->sequence());
                                                   sync->infer();
                                               }}},
        [sync](std::uint64_t sequence) { sync->cancel(sequence); });
    *self = async.get();
    return async;
}

} // namespace loom::plugins::sdk
