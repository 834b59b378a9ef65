#pragma once
// The kernel's vocabulary in C++ (mirrors schemas/kernel.capnp), and conversions.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/kernel.capnp.h"

namespace loom::kernel {

using ComponentState = schema::ComponentState;
using Placement = schema::Placement;

std::string_view to_string(ComponentState state) noexcept;
std::string_view to_string(Placement placement) noexcept;

// How to start a component.
struct ComponentSpec {
    std::string name;
    std::string library; // component library (.so)
    Placement placement = Placement::IN_PROCESS;
    std::vector<std::string> endpoints; // {name} and {instance} are expanded; empty = default
    std::chrono::milliseconds start_timeout{0}; // 0 = the kernel's default
    std::string config;                         // passed to the component's entry (TOML text)
};

// What the kernel knows of one component instance.
struct ComponentRecord {
    std::uint64_t instance = 0;
    std::string name;
    std::string kind;
    std::string version;
    std::vector<std::string> endpoints; // most local first
    std::string host;
    ComponentState state = ComponentState::STARTING;
    Placement placement = Placement::IN_PROCESS;
    std::int32_t pid = 0;
    std::uint64_t epoch = 0;
    std::string last_error;
    bool clean_stop = false; // stopped after draining: nothing left unanswered
    bool routed = false;
    std::string server_key;      // CURVE public key (Z85) of its tcp endpoints; empty: none
    std::uint32_t in_flight = 0; // requests running at its last heartbeat
};

// Where a name is served now.
struct Route {
    std::string name;
    std::vector<std::string> endpoints;
    std::uint64_t epoch = 0;
    std::uint64_t instance = 0;
    std::string host;
    std::string server_key; // CURVE public key (Z85) of its tcp endpoints; empty: none
};

// A Cap'n Proto list of texts as strings.
std::vector<std::string> texts(capnp::List<capnp::Text>::Reader list);

void to_schema(const ComponentSpec& spec, schema::ComponentSpec::Builder out);
ComponentSpec from_schema(schema::ComponentSpec::Reader in);
void to_schema(const ComponentRecord& record, schema::ComponentInfo::Builder out);
ComponentRecord from_schema(schema::ComponentInfo::Reader in);
void to_schema(const Route& route, schema::Route::Builder out);
Route from_schema(schema::Route::Reader in);

} // namespace loom::kernel
