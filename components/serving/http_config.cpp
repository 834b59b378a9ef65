#include "components/serving/http_config.hpp"

#include <set>

#include <fmt/format.h>

#include "kernel/toml_reader.hpp"
#include "schemas/error.hpp"

namespace loom::serving {

HttpOptions parse_http_config(std::string_view text, const std::filesystem::path& base_dir,
                              const std::string& where,
                              const std::map<std::string, std::string>& declared) {
    const toml::table root = kernel::parse_toml(text, where);
    kernel::TomlReader r(root, where);
    r.only({"address", "port", "max_body_mib", "max_concurrent", "threads", "model"});
    HttpOptions o;
    o.address = r.text("address", o.address);
    o.port = static_cast<int>(r.integer("port", o.port, 0, 65535));
    o.max_body_bytes = static_cast<std::size_t>(r.integer("max_body_mib", 64, 1, 1 << 16)) << 20;
    o.max_concurrent = static_cast<unsigned>(r.integer("max_concurrent", 64, 1, 1 << 16));
    o.threads = static_cast<unsigned>(r.integer("threads", 8, 1, 1024));
    std::set<std::string> names;
    if (const auto* models = root.get("model")) {
        const auto* array = models->as_array();
        LOOM_REQUIRE(array && array->is_array_of_tables(), "{}: models are [[http.model]] tables",
                     where);
        for (std::size_t i = 0; i < array->size(); ++i) {
            const auto w = fmt::format("{}: [[http.model]] #{}", where, i + 1);
            kernel::TomlReader m(*array->get(i)->as_table(), w);
            m.only({"name", "model", "pipeline", "device", "version"});
            ServedSpec s;
            s.name = m.text("name");
            LOOM_REQUIRE(!s.name.empty() && s.name.find('/') == std::string::npos,
                         "{}: `name` is required (no '/')", w);
            LOOM_REQUIRE(names.insert(s.name).second, "{}: model '{}' is served twice", w, s.name);
            s.model = kernel::resolve_path(m.text("model"), base_dir);
            const auto pipeline = m.text("pipeline");
            if (auto it = declared.find(pipeline); it != declared.end())
                s.pipeline_text = it->second;
            else
                s.pipeline = kernel::resolve_path(pipeline, base_dir);
            s.base_dir = base_dir;
            LOOM_REQUIRE(s.model.empty() != (s.pipeline.empty() && s.pipeline_text.empty()),
                         "{}: give `model` (a model file) or `pipeline` (a pipeline file)", w);
            s.device = m.text("device", s.device);
            s.version = m.text("version", s.version);
            LOOM_REQUIRE(!s.version.empty() && s.version.find('/') == std::string::npos,
                         "{}: `version` must be a non-empty name without '/'", w);
            o.models.push_back(std::move(s));
        }
    }
    LOOM_REQUIRE(!o.models.empty(), "{}: serve at least one [[http.model]]", where);
    return o;
}

} // namespace loom::serving
