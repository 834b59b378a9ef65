#pragma once
// PlanSet — the Plans of one compiled model, one per op-registry snapshot it was prepared for
// (DESIGN.md §5). A request pins the plan of the snapshot current when it starts; a swap prepares
// the new snapshot's plan (checking the model's output types and shapes) before it is published.
// A model without extension ops has one plan whatever the snapshot.
// Threading: for_run/prepare/settle may be called from any thread (m_mutex).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "components/model/properties.hpp"
#include "components/model/registry_host.hpp"
#include "components/reference/interpreter.hpp"

namespace loom::plugins::reference {

// What distinguishes the devices built on these classes: REFERENCE (the default), and the CPU
// device in its first form (plugins/cpu), which prepares oneDNN nodes into the Plan.
struct Flavor {
    std::string device = "REFERENCE";
    std::string full_name = "Loom reference device (portable reference kernels, the oracle)";
    loom::reference::NodePreparer prepare; // null: every node runs its kernel entry
    // The device's own compiler of a model (the CPU device's graph); null, or null returned: the
    // model runs as a Plan (with `prepare`). It may keep references to the model and registry.
    std::function<std::shared_ptr<const loom::reference::Executable>(
        const model::Model&, const model::OpRegistry&, const loom::reference::KernelTable&,
        const Properties&)>
        compile;
    // The device's answer for a property of a compiled model with `props` (streams, threads);
    // nullopt: the common answer.
    std::function<std::optional<std::string>(const Properties& props, const std::string& name)>
        property;
    bool f32_by_default = false; // f16 models computed in f32 without a precision hint
    // Why INFERENCE_PRECISION_HINT `type` (not f32) is refused (unsupported), or empty when the
    // device takes it (the CPU device's bf16, with f16 models first converted to f32); null: the
    // reference device's answer (invalid_argument: it computes in the model's precision).
    std::function<std::string(ElementType type)> other_precision;
};

// What every compiled model and request of the device shares (immutable once built).
struct Shared {
    Flavor flavor;
    std::shared_ptr<model::RegistryHost> registry; // the process's op registry snapshots
    std::shared_ptr<const loom::reference::KernelTable> kernels;
};

class PlanSet final : public model::SnapshotUser {
public:
    struct Prepared {
        std::shared_ptr<const model::OpRegistry> registry; // keeps extension libraries loaded
        std::shared_ptr<const loom::reference::Executable> plan;
    };

    PlanSet(std::shared_ptr<const model::Model> m, std::shared_ptr<const Shared> shared,
            std::shared_ptr<const model::OpRegistry> snapshot, Properties props);

    // Registers for swaps (until destroyed); only models with extension ops need to.
    void watch();

    // The current snapshot's plan once prepared for it; otherwise (a snapshot published without
    // preparing, e.g. after an unload) the plan in force.
    Prepared for_run() const;

    // invalid_argument when the model cannot use `candidate` or its outputs would change.
    void prepare(const std::shared_ptr<const model::OpRegistry>& candidate) override;
    void settle(std::uint64_t generation) noexcept override;

private:
    Prepared make(std::shared_ptr<const model::OpRegistry> snapshot) const;

    std::shared_ptr<const model::Model> m_model;
    std::shared_ptr<const Shared> m_shared;
    Properties m_props;
    const bool m_dynamic;
    mutable std::mutex m_mutex; // guards m_plans, m_active
    std::map<std::uint64_t, Prepared> m_plans;
    std::uint64_t m_active = 0; // the generation requests use when there is no plan for current
    model::Watch m_watch;       // last: unregisters before anything else goes
};

} // namespace loom::plugins::reference
