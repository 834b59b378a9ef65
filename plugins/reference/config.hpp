#pragma once
// The REFERENCE device's name and the properties it and its compiled models report.

#include <string>
#include <vector>

namespace loom::plugins::reference {

inline constexpr char k_device[] = "REFERENCE";

// The names reported as SUPPORTED_PROPERTIES by the device and by its compiled models.
const std::vector<std::string>& supported_property_names();

} // namespace loom::plugins::reference
