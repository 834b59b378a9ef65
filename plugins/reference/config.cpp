#include "plugins/reference/config.hpp"

#include "components/model/properties.hpp"

namespace loom::plugins::reference {

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

} // namespace loom::plugins::reference
