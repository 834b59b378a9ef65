#pragma once
// ReferencePlugin — the REFERENCE device (DESIGN.md §6): runs every native op with the reference
// kernels of loom::reference through the Plan interpreter — the oracle other devices are checked
// against. plugin.cpp also holds the library's entry (LOOM_PLUGIN).
// Threading: safe to use from many threads (m_mutex guards the device's properties).

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "plugins/reference/config.hpp"
#include "plugins/reference/plan_set.hpp"
#include "plugins/sdk/plugin.hpp"

namespace loom::plugins::reference {

class ReferencePlugin final : public sdk::Plugin {
public:
    // `registry` null: the native op set only.
    explicit ReferencePlugin(std::shared_ptr<model::RegistryHost> registry, Flavor flavor = {});

    const std::string& device_name() const override { return m_name; }
    std::string full_name() const override;
    std::string get_property(const std::string& name) const override;
    void set_property(const Properties& p) override;
    std::vector<std::string> query_model(const model::Model& m, const Properties&) const override;
    std::vector<std::pair<std::string, bool>> op_coverage() const override;
    std::shared_ptr<sdk::CompiledModel> compile_model(std::shared_ptr<const model::Model> m,
                                                      const Properties& p) override;
    std::shared_ptr<sdk::CompiledModel> import_model(std::span<const std::byte> blob,
                                                     const Properties& p) override;
    std::shared_ptr<sdk::RemoteContext> default_context() override { return m_context; }

private:
    std::string m_name;
    std::shared_ptr<const Shared> m_shared;
    std::shared_ptr<sdk::RemoteContext> m_context;
    mutable std::mutex m_mutex; // guards m_props
    Properties m_props;
};

} // namespace loom::plugins::reference
