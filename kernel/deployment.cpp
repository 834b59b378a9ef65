#include "kernel/deployment.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "kernel/toml_reader.hpp"

namespace loom::kernel {
namespace {

using Reader = TomlReader;

void read_kernel(const toml::table& t, const std::filesystem::path& base, const std::string& src,
                 Deployment& d) {
    Reader r(t, src + ": [kernel]");
    r.only({"endpoints", "events", "runtime_dir", "heartbeat_ms", "liveness", "server_key",
            "insecure", "library_dirs", "start_timeout_ms", "drain_timeout_ms", "launcher",
            "max_frame_mib", "max_frames", "max_message_mib", "max_in_flight_mib",
            "max_instances_per_key", "max_names"});
    d.kernel.endpoints = r.texts("endpoints");
    d.kernel.event_endpoints = r.texts("events");
    d.kernel.runtime_dir = resolve_path(r.text("runtime_dir"), base);
    d.kernel.launcher = resolve_path(r.text("launcher"), base);
    d.context.heartbeat.interval =
        std::chrono::milliseconds(r.integer("heartbeat_ms", 1000, 10, 600000));
    d.context.heartbeat.liveness = static_cast<unsigned>(r.integer("liveness", 3, 1, 100));
    d.kernel.start_timeout = std::chrono::milliseconds(
        r.integer("start_timeout_ms", d.kernel.start_timeout.count(), 1, 3600000));
    d.kernel.drain_timeout = std::chrono::milliseconds(
        r.integer("drain_timeout_ms", d.kernel.drain_timeout.count(), 1, 3600000));
    d.kernel.insecure = r.flag("insecure");
    d.kernel.max_instances_per_key = static_cast<std::size_t>(
        r.integer("max_instances_per_key",
                  static_cast<std::int64_t>(d.kernel.max_instances_per_key), 1, 1 << 20));
    d.kernel.max_names = static_cast<std::size_t>(
        r.integer("max_names", static_cast<std::int64_t>(d.kernel.max_names), 1, 1 << 24));
    for (const auto& dir : r.texts("library_dirs"))
        d.context.library_dirs.emplace_back(resolve_path(dir, base));
    auto& limits = d.context.limits;
    constexpr std::int64_t mib = 1 << 20;
    limits.max_frame_bytes =
        r.integer("max_frame_mib", limits.max_frame_bytes / mib, 1, 16384) * mib;
    limits.max_frames =
        static_cast<std::uint32_t>(r.integer("max_frames", limits.max_frames, 1, 1 << 20));
    limits.max_message_bytes = static_cast<std::uint64_t>(
        r.integer("max_message_mib", static_cast<std::int64_t>(limits.max_message_bytes / mib), 1,
                  65536) *
        mib);
    limits.max_in_flight_bytes = static_cast<std::uint64_t>(
        r.integer("max_in_flight_mib", static_cast<std::int64_t>(limits.max_in_flight_bytes / mib),
                  1, 65536) *
        mib);
    if (auto key = r.text("server_key"); !key.empty())
        d.kernel.security = bus::ServerSecurity(bus::KeyPair::load(resolve_path(key, base)));
}

// [roles]: operator = [keys], client = [keys], [[roles.component]] key = K, names = [...].
void read_roles(const toml::table& t, const std::filesystem::path& base, const std::string& src,
                Deployment& d) {
    LOOM_REQUIRE(d.kernel.security.has_value(),
                 "{}: [roles] lists keys but [kernel] has no `server_key` (CURVE needs both)", src);
    auto& security = *d.kernel.security;
    Reader r(t, src + ": [roles]");
    r.only({"operator", "client", "component"});
    for (const auto& k : r.texts("operator"))
        security.allow(bus::load_public_key(resolve_path(k, base)),
                       bus::Roles(bus::Role::operator_) | bus::Role::client);
    for (const auto& k : r.texts("client"))
        security.allow(bus::load_public_key(resolve_path(k, base)), bus::Role::client);
    const auto* components = t.get("component");
    if (!components) return;
    const auto* array = components->as_array();
    LOOM_REQUIRE(array && array->is_array_of_tables(),
                 "{}: component keys are [[roles.component]] tables with `key` and `names`", src);
    for (std::size_t i = 0; i < array->size(); ++i) {
        Reader c(*array->get(i)->as_table(),
                 fmt::format("{}: [[roles.component]] #{}", src, i + 1));
        c.only({"key", "names"});
        auto key = bus::load_public_key(resolve_path(c.text("key"), base));
        auto names = c.texts("names");
        LOOM_REQUIRE(!names.empty(), "{}: [[roles.component]] #{} needs `names` it may register",
                     src, i + 1);
        security.allow(key, bus::Roles(bus::Role::component) | bus::Role::client);
        auto& allowed = d.kernel.component_names[key];
        allowed.insert(allowed.end(), names.begin(), names.end());
    }
}

ComponentSpec read_component(const toml::table& t, std::size_t index,
                             const std::filesystem::path& base, const std::string& src) {
    std::string where = fmt::format("{}: [[component]] #{}", src, index + 1);
    Reader r(t, where);
    r.only({"name", "library", "where", "endpoints", "start_timeout_ms", "config"});
    ComponentSpec spec;
    spec.name = r.text("name");
    LOOM_REQUIRE(!spec.name.empty(), "{}: `name` is required", where);
    spec.library = resolve_path(r.text("library"), base);
    LOOM_REQUIRE(!spec.library.empty(), "{} ('{}'): `library` is required", where, spec.name);
    auto place = r.text("where", "in-process");
    if (place == "in-process")
        spec.placement = Placement::IN_PROCESS;
    else if (place == "process")
        spec.placement = Placement::CHILD_PROCESS;
    else
        LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                   "{} ('{}'): `where` is '{}'; use \"in-process\" or \"process\" (remote "
                   "components dial in with `loom serve`)",
                   where, spec.name, place);
    spec.endpoints = r.texts("endpoints");
    spec.start_timeout = std::chrono::milliseconds(r.integer("start_timeout_ms", 0, 0, 3600000));
    if (const auto* config = t.get("config")) {
        if (auto text = config->value<std::string>())
            spec.config = *text;
        else if (const auto* table = config->as_table()) {
            std::ostringstream out;
            out << *table;
            spec.config = out.str();
        } else {
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "{}: `config` must be a table or a string",
                       where);
        }
    }
    return spec;
}

} // namespace

Deployment parse_deployment(std::string_view text, const std::filesystem::path& base_dir,
                            const std::string& source_name) {
    const toml::table root = parse_toml(text, source_name);
    Deployment d;
    Reader(root, source_name).only({"kernel", "roles", "component", "http", "pipeline"});
    if (const auto* pipelines = root.get("pipeline")) {
        const auto* array = pipelines->as_array();
        LOOM_REQUIRE(array && array->is_array_of_tables(), "{}: pipelines are [[pipeline]] tables",
                     source_name);
        for (std::size_t i = 0; i < array->size(); ++i) {
            const auto& table = *array->get(i)->as_table();
            const auto name = table["name"].value<std::string>();
            LOOM_REQUIRE(name && !name->empty(), "{}: [[pipeline]] #{} needs a `name`", source_name,
                         i + 1);
            std::ostringstream declared;
            declared << table;
            LOOM_REQUIRE(d.pipelines.emplace(*name, declared.str()).second,
                         "{}: pipeline '{}' is declared twice", source_name, *name);
        }
    }
    d.base_dir = base_dir;
    if (const auto* http = root.get("http")) {
        LOOM_REQUIRE(http->is_table(), "{}: `http` must be a table", source_name);
        std::ostringstream table;
        table << *http->as_table();
        d.http = table.str();
    }
    if (const auto* kernel = root.get("kernel")) {
        LOOM_REQUIRE(kernel->is_table(), "{}: `kernel` must be a table", source_name);
        read_kernel(*kernel->as_table(), base_dir, source_name, d);
    }
    if (const auto* roles = root.get("roles")) {
        LOOM_REQUIRE(roles->is_table(), "{}: `roles` must be a table", source_name);
        read_roles(*roles->as_table(), base_dir, source_name, d);
    }
    LOOM_REQUIRE(!d.kernel.security || !d.kernel.security->clients.empty(),
                 "{}: [kernel] has a `server_key` but [roles] lists no key: nobody could connect "
                 "over tcp",
                 source_name);
    if (const auto* components = root.get("component")) {
        const auto* array = components->as_array();
        LOOM_REQUIRE(array && array->is_array_of_tables(),
                     "{}: components are [[component]] tables", source_name);
        std::set<std::string> names;
        for (std::size_t i = 0; i < array->size(); ++i) {
            auto spec = read_component(*array->get(i)->as_table(), i, base_dir, source_name);
            LOOM_REQUIRE(names.insert(spec.name).second, "{}: component '{}' is listed twice",
                         source_name, spec.name);
            d.components.push_back(std::move(spec));
        }
    }
    return d;
}

Deployment load_deployment(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) LOOM_THROW(ErrorKind::NOT_FOUND, "deployment file {} cannot be read", path.string());
    std::stringstream text;
    text << in.rdbuf();
    auto base = std::filesystem::absolute(path).parent_path();
    return parse_deployment(text.str(), base, path.string());
}

} // namespace loom::kernel
