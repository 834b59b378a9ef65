#include "components/extensions/loader.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "schemas/error.hpp"

namespace loom::extensions {

namespace {

// The schema a swap must keep: op types, domains and attribute schemas, order-insensitive.
using OpKey = std::tuple<std::string, std::string, std::vector<std::string>>;

std::vector<OpKey> schema_of(const std::vector<model::OpSpec>& ops) {
    std::vector<OpKey> out;
    for (const auto& op : ops) {
        std::vector<std::string> attrs;
        for (const auto& a : op.attrs)
            attrs.push_back(
                fmt::format("{}:{}{}", a.name, model::to_string(a.kind), a.required ? "" : "?"));
        std::sort(attrs.begin(), attrs.end());
        out.emplace_back(op.type, op.version, std::move(attrs));
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string describe(const OpKey& k) {
    return fmt::format("{}@{}({})", std::get<0>(k), std::get<1>(k),
                       fmt::join(std::get<2>(k), ", "));
}

void check_same_schema(const std::string& name, const std::vector<model::OpSpec>& old_ops,
                       const ExtensionContent& next) {
    auto a = schema_of(old_ops);
    auto b = schema_of(next.ops);
    if (a == b) return;
    std::vector<std::string> only_old, only_new;
    for (const auto& k : a)
        if (!std::binary_search(b.begin(), b.end(), k)) only_old.push_back(describe(k));
    for (const auto& k : b)
        if (!std::binary_search(a.begin(), a.end(), k)) only_new.push_back(describe(k));
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
               "cannot swap extension '{}' to {} {}: the op types and attribute schemas differ "
               "(only in the loaded version: {}; only in the new one: {}); load it beside or "
               "unload the old one first",
               name, next.info.source, next.info.version,
               only_old.empty() ? "-" : fmt::format("{}", fmt::join(only_old, ", ")),
               only_new.empty() ? "-" : fmt::format("{}", fmt::join(only_new, ", ")));
}

std::vector<model::OpSpec> ops_of(const model::OpRegistry& registry, const std::string& origin) {
    std::vector<model::OpSpec> out;
    for (const auto* spec : registry.all())
        if (spec->origin == origin) out.push_back(*spec);
    return out;
}

// Adds the content to `draft`, refusing collisions with what is there.
void add_content(model::OpRegistry& draft, ExtensionContent& content) {
    for (auto& op : content.ops) {
        const auto* existing = draft.find(op.type, op.version);
        if (existing && existing->version == op.version)
            LOOM_THROW(ErrorKind::INVALID_ARGUMENT,
                       "extension '{}' provides {}@{}, which {} provides already",
                       content.info.name, op.type, op.version,
                       existing->origin.empty() ? std::string("Loom")
                                                : "extension '" + existing->origin + "'");
        op.origin = content.info.name;
        draft.add(std::move(op));
    }
    for (auto& c : content.conversions) {
        c.origin = content.info.name;
        draft.add_conversion(std::move(c));
    }
    content.ops.clear();
    content.conversions.clear();
}

} // namespace

ExtensionLoader::ExtensionLoader(std::shared_ptr<model::RegistryHost> host, ExtensionOpener opener)
    : m_host(std::move(host))
    , m_opener(std::move(opener)) {
    LOOM_ASSERT(m_host != nullptr && m_opener != nullptr);
}

ExtensionInfo ExtensionLoader::load(const std::string& source) {
    auto content = m_opener(source);
    auto change = m_host->lock_changes();
    {
        std::lock_guard lock(m_mutex);
        LOOM_REQUIRE(!m_loaded.contains(content.info.name),
                     "an extension named '{}' is loaded already (from {}); swap it instead",
                     content.info.name, m_loaded.at(content.info.name).source);
    }
    auto draft = m_host->draft();
    auto info = content.info;
    add_content(*draft, content);
    m_host->prepare(draft);
    m_host->publish(draft);
    std::lock_guard lock(m_mutex);
    m_loaded[info.name] = info;
    return info;
}

void ExtensionLoader::unload(const std::string& name) {
    auto change = m_host->lock_changes();
    {
        std::lock_guard lock(m_mutex);
        if (!m_loaded.contains(name))
            LOOM_THROW(ErrorKind::NOT_FOUND, "no extension named '{}' is loaded", name);
    }
    auto draft = m_host->draft();
    draft->remove_origin(name);
    // No prepare(): compiled models keep the snapshot they run with until they are released.
    m_host->publish(draft);
    std::lock_guard lock(m_mutex);
    m_loaded.erase(name);
}

ExtensionInfo ExtensionLoader::swap(const std::string& name, const std::string& source) {
    auto content = m_opener(source); // a broken library fails here; nothing changed
    auto change = m_host->lock_changes();
    {
        std::lock_guard lock(m_mutex);
        if (!m_loaded.contains(name))
            LOOM_THROW(ErrorKind::NOT_FOUND, "no extension named '{}' is loaded (load it first)",
                       name);
        LOOM_REQUIRE(content.info.name == name || !m_loaded.contains(content.info.name),
                     "cannot swap '{}' to {}: it is extension '{}', which is loaded already", name,
                     source, content.info.name);
    }
    auto current = m_host->current();
    check_same_schema(name, ops_of(*current, name), content);
    auto draft = m_host->draft();
    draft->remove_origin(name);
    auto info = content.info;
    add_content(*draft, content);
    m_host->prepare(draft); // compiled models check shapes and build the new kernels
    m_host->publish(draft);
    std::lock_guard lock(m_mutex);
    m_loaded.erase(name);
    m_loaded[info.name] = info;
    return info;
}

std::vector<ExtensionInfo> ExtensionLoader::list() const {
    std::lock_guard lock(m_mutex);
    std::vector<ExtensionInfo> out;
    for (const auto& [name, info] : m_loaded)
        out.push_back(info);
    return out;
}

} // namespace loom::extensions
