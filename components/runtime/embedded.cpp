#include "components/runtime/embedded.hpp"

#include <cstdlib>
#include <dlfcn.h>

#include "schemas/error.hpp"

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

EmbeddedDeployment::EmbeddedDeployment(EmbeddedOptions options) {
    auto dir = options.library_dir.empty() ? component_library_dir() : options.library_dir;
    m_context = std::make_unique<bus::Context>();
    m_kernel = std::make_unique<kernel::Kernel>(*m_context);
    m_kernel->start(spec("reader", dir, options.reader));
    m_kernel->start(spec("transform", dir, options.transform));
    m_client = std::make_unique<kernel::KernelClient>(*m_context, m_kernel->endpoints().front());
    m_reader = std::make_unique<kernel::RoutedChannel>(*m_context, *m_client, "reader");
    m_transform = std::make_unique<kernel::RoutedChannel>(*m_context, *m_client, "transform");
}

EmbeddedDeployment::~EmbeddedDeployment() {
    m_reader.reset();
    m_transform.reset();
    m_client.reset();
    if (m_kernel) m_kernel->shutdown();
    m_kernel.reset();
}

} // namespace loom::runtime
