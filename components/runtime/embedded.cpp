#include "components/runtime/embedded.hpp"

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>

#include "schemas/error.hpp"
#include "schemas/extensions.capnp.h"

namespace loom::runtime {

std::filesystem::path component_library_dir() {
    if (const char* env = std::getenv("LOOM_LIB_DIR")) return env;
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&component_library_dir), &info) && info.dli_fname) {
        auto dir = std::filesystem::canonical(info.dli_fname).parent_path();
        for (auto candidate : {dir, dir / "loom"})
            if (std::filesystem::exists(candidate / "libloom_reader_component.so"))
                return candidate;
    }
    LOOM_THROW(ErrorKind::NOT_FOUND,
               "Loom's component libraries were not found beside libloom_runtime (set "
               "LOOM_LIB_DIR to the folder holding libloom_reader_component.so)");
}

std::string extension_source(const std::string& s) {
    if (s.starts_with("ipc://") || s.starts_with("tcp://") || s.starts_with("inproc://")) return s;
    return std::filesystem::absolute(s).string();
}

namespace {
kernel::ComponentSpec spec(const std::string& name, const std::filesystem::path& dir,
                           kernel::Placement placement) {
    kernel::ComponentSpec s;
    s.name = name;
    s.library = (dir / ("libloom_" + name + "_component.so")).string();
    s.placement = placement;
    return s;
}
} // namespace

EmbeddedDeployment::EmbeddedDeployment(EmbeddedOptions options)
    : Deployment(model::make_native_registry_host(), options.context) {
    auto dir = options.library_dir.empty() ? component_library_dir() : options.library_dir;
    m_library_dir = dir;
    m_device_placement = options.devices;
    kernel::KernelOptions kernel_options;
    kernel_options.registry = registry();
    m_kernel = std::make_unique<kernel::Kernel>(context(), kernel_options);
    m_kernel->start(spec("extensions", dir, kernel::Placement::IN_PROCESS));
    m_kernel->start(spec("reader", dir, options.reader));
    m_kernel->start(spec("transform", dir, options.transform));
    connect(m_kernel->endpoints().front());
}

std::vector<std::string> EmbeddedDeployment::device_names() {
    std::vector<std::string> out;
    const std::string prefix = "libloom_plugin_";
    for (const auto& entry : std::filesystem::directory_iterator(m_library_dir)) {
        auto file = entry.path().filename().string();
        if (!file.starts_with(prefix) || !file.ends_with(".so")) continue;
        auto name = file.substr(prefix.size(), file.size() - prefix.size() - 3);
        for (auto& c : name)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

DeviceCaller EmbeddedDeployment::named_device(const std::string& name) {
    if (name.find('@') != std::string::npos)
        LOOM_THROW(ErrorKind::NOT_FOUND,
                   "device '{}' is on another host: attach to the kernel it registered with "
                   "(CoreOptions::kernel, `--kernel ENDPOINT`) or name it by endpoint "
                   "(TYPE@tcp://ADDR:PORT)",
                   name);
    return routed_device("device/" + name, [&] { start_device(name); });
}

void EmbeddedDeployment::start_device(const std::string& name) {
    auto names = device_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        std::string list;
        for (const auto& n : names)
            list += (list.empty() ? "" : ", ") + n;
        LOOM_THROW(ErrorKind::NOT_FOUND, "no device '{}' (available: {})", name,
                   list.empty() ? "none" : list);
    }
    std::string lower = name;
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    kernel::ComponentSpec s;
    s.name = "device/" + name;
    s.library = (m_library_dir / ("libloom_plugin_" + lower + ".so")).string();
    s.placement = m_device_placement;
    auto record = m_kernel->start(s);
    if (s.placement == kernel::Placement::IN_PROCESS) return;
    // A process of its own: give it the extensions loaded so far (its companion loader).
    for (const auto& endpoint : record.endpoints) {
        if (endpoint.starts_with("inproc://")) continue;
        bus::OutMessage request;
        request.init_payload<schema::ExtensionSyncRequest>().setEndpoint(endpoint);
        extensions()(static_cast<std::uint16_t>(schema::ExtensionMethod::SYNC), request);
        break;
    }
}

EmbeddedDeployment::~EmbeddedDeployment() {
    close();
    if (m_kernel) m_kernel->shutdown();
    m_kernel.reset();
}

} // namespace loom::runtime
