#include "components/extensions/remote_extension.hpp"

#include "schemas/capnp_lists.hpp"

#include <mutex>
#include <shared_mutex>

#include <fmt/format.h>

#include "bus/channel.hpp"
#include "components/model/serialize.hpp"
#include "components/protocol/codec.hpp"
#include "schemas/error.hpp"
#include "schemas/extensions.capnp.h"

namespace loom::extensions {

namespace {

using model::Tensor;
using schema::ExtensionHostMethod;

schema::AttrKind to_schema(model::AttrKind k) {
    return static_cast<schema::AttrKind>(static_cast<std::uint16_t>(k));
}
model::AttrKind from_schema(schema::AttrKind k) {
    auto v = static_cast<std::uint16_t>(k);
    LOOM_REQUIRE(v <= static_cast<std::uint16_t>(model::AttrKind::Dims),
                 "unknown attribute kind {}", v);
    return static_cast<model::AttrKind>(v);
}

using protocol::put_tensor;
using protocol::take_tensor;

// The op node of a one-node call model (the node that is not Parameter/Constant/Result).
model::Node& op_node(const model::Model& m) {
    for (auto* n : m.nodes())
        if (n->type != "Parameter" && n->type != "Constant" && n->type != "Result") return *n;
    LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "the call carries no op node");
}

// Parameter/Constant inputs → a copy of `node` → one Result per output.
void call_model(const model::Node& node, const std::vector<model::Node*>& inputs_made,
                model::Model& m) {
    std::vector<model::Output> ins;
    for (auto* n : inputs_made)
        ins.push_back(n->output(0));
    auto& op = m.add(node.type, node.version, std::move(ins), node.attrs,
                     std::max<std::size_t>(node.outputs.size(), 1), node.name);
    for (std::uint32_t o = 0; o < op.outputs.size(); ++o)
        m.add_result(op.output(o));
}

// The client of one hosted extension. Its channel is closed by detach() when the loader that
// opened it goes (before the bus context does); calls after that fail `unavailable`.
class RemoteOps {
public:
    // A host that does not answer is reported within the liveness window (heartbeat interval ×
    // liveness), as everywhere else on the bus.
    RemoteOps(bus::Context& context, std::string endpoint)
        : m_endpoint(std::move(endpoint))
        , m_liveness(context.options().heartbeat.timeout())
        , m_channel(
              std::make_unique<bus::Channel>(context, m_endpoint, k_extension_host_service,
                                             bus::ChannelOptions{.connect_timeout = m_liveness})) {}

    void detach() noexcept {
        std::unique_lock lock(m_mutex); // waits for running calls
        m_channel.reset();
    }

    // Shape inference over the bus: input types/shapes (and constant values) go, the op's
    // output types and shapes come back.
    void infer(model::InferContext& ctx) {
        model::Model m;
        std::vector<model::Node*> inputs;
        for (std::size_t i = 0; i < ctx.input_count(); ++i) {
            if (const auto* c = ctx.input_constant(i))
                inputs.push_back(&m.add_constant(*c));
            else
                inputs.push_back(&m.add_parameter(ctx.input_type(i), ctx.input_shape(i),
                                                  fmt::format("in{}", i)));
        }
        call_model(ctx.node(), inputs, m);
        auto reply = call(ExtensionHostMethod::INFER, m);
        auto typed = model::take_graph(reply, reply.payload<schema::OpCall>());
        const auto& op = op_node(*typed);
        ctx.set_output_count(op.outputs.size());
        for (std::size_t o = 0; o < op.outputs.size(); ++o)
            ctx.set_output(o, op.outputs[o].type, op.outputs[o].shape);
    }

    std::vector<Tensor> evaluate(const model::Node& node, std::span<const Tensor> in) {
        model::Model m;
        std::vector<model::Node*> inputs;
        for (const auto& t : in)
            inputs.push_back(&m.add_constant(t));
        call_model(node, inputs, m);
        auto reply = call(ExtensionHostMethod::EVALUATE, m);
        std::vector<Tensor> out;
        for (auto desc : carried(reply.payload<schema::EvaluateReply>().getOutputs(), "outputs"))
            out.push_back(take_tensor(reply, desc));
        return out;
    }

    schema::HostedExtension::Reader describe(bus::InMessage& holder) {
        holder =
            call(ExtensionHostMethod::DESCRIBE, bus::OutMessage{},
                 {.timeout = std::chrono::duration_cast<std::chrono::microseconds>(m_liveness)});
        return holder.payload<schema::HostedExtension>();
    }

private:
    bus::InMessage call(ExtensionHostMethod method, const model::Model& m) {
        bus::OutMessage request;
        model::put_graph(request, request.init_payload<schema::OpCall>(), m);
        return call(method, std::move(request));
    }

    bus::InMessage call(ExtensionHostMethod method, bus::OutMessage request,
                        bus::CallOptions options = {}) {
        std::shared_lock lock(m_mutex);
        if (!m_channel)
            LOOM_THROW(ErrorKind::UNAVAILABLE,
                       "extension hosted at {}: the deployment that loaded it has shut down",
                       m_endpoint);
        try {
            return m_channel->call(method, std::move(request), options);
        } catch (const Error& e) {
            throw Error(e.kind(),
                        fmt::format("extension hosted at {}: {}", m_endpoint, e.message()));
        }
    }

    std::string m_endpoint;
    std::chrono::milliseconds m_liveness;
    std::shared_mutex m_mutex; // calls share it; detach() takes it alone
    std::unique_ptr<bus::Channel> m_channel;
};

// The hosted extensions an opener made; detached when the opener (its loader) goes.
struct RemoteSet {
    std::mutex mutex;
    std::vector<std::weak_ptr<RemoteOps>> remotes;
    ~RemoteSet() {
        for (auto& w : remotes)
            if (auto r = w.lock()) r->detach();
    }
};

std::shared_ptr<const model::OpRegistry> host_registry(const ExtensionLibrary& library) {
    auto registry = model::make_native_registry();
    for (auto& spec : library.op_specs(library.name()))
        registry->add(std::move(spec));
    return registry;
}

} // namespace

std::shared_ptr<bus::Service>
make_extension_host_service(std::shared_ptr<const ExtensionLibrary> library) {
    auto service = std::make_shared<bus::Service>(
        k_extension_host_service, library->version(),
        bus::ServiceOptions{.thread_safe = true, .blocking = true, .workers = 2});
    auto registry = host_registry(*library);
    service->on(ExtensionHostMethod::DESCRIBE, [library](bus::Call& call) {
        auto out = call.init_reply<schema::HostedExtension>();
        out.setName(library->name());
        out.setVersion(library->version());
        const auto& ops = library->result().ops;
        auto list = out.initOps(static_cast<unsigned>(ops.size()));
        for (unsigned i = 0; i < ops.size(); ++i) {
            list[i].setType(ops[i].type);
            list[i].setDomain(ops[i].domain);
            list[i].setMinInputs(static_cast<std::uint32_t>(ops[i].min_inputs));
            list[i].setMaxInputs(ops[i].max_inputs > UINT32_MAX
                                     ? UINT32_MAX
                                     : static_cast<std::uint32_t>(ops[i].max_inputs));
            auto attrs = list[i].initAttrs(static_cast<unsigned>(ops[i].attrs.size()));
            for (unsigned a = 0; a < ops[i].attrs.size(); ++a) {
                attrs[a].setName(ops[i].attrs[a].name);
                attrs[a].setKind(to_schema(ops[i].attrs[a].kind));
                attrs[a].setRequired(ops[i].attrs[a].required);
            }
        }
    });
    service->on(ExtensionHostMethod::INFER, [registry](bus::Call& call) {
        auto m = model::take_graph(call.request(), call.params<schema::OpCall>());
        model::infer_and_validate(*m, *registry);
        model::put_graph(call.reply(), call.init_reply<schema::OpCall>(), *m);
    });
    service->on(ExtensionHostMethod::EVALUATE, [registry](bus::Call& call) {
        auto m = model::take_graph(call.request(), call.params<schema::OpCall>());
        model::infer_and_validate(*m, *registry);
        auto& op = op_node(*m);
        const auto* spec = registry->find(op.type, op.version);
        LOOM_REQUIRE(spec && !spec->origin.empty(), "this host does not provide {}@{}", op.type,
                     op.version);
        std::vector<Tensor> in;
        for (const auto& i : op.inputs)
            in.push_back(i.node->value);
        auto out = spec->evaluate(op, in);
        auto list =
            call.init_reply<schema::EvaluateReply>().initOutputs(static_cast<unsigned>(out.size()));
        for (unsigned i = 0; i < out.size(); ++i)
            put_tensor(call.reply(), list[i], out[i]);
    });
    return service;
}

namespace {
ExtensionContent open_remote(bus::Context& context, const std::string& endpoint, RemoteSet* set) {
    auto remote = std::make_shared<RemoteOps>(context, endpoint);
    if (set) {
        std::lock_guard lock(set->mutex);
        std::erase_if(set->remotes, [](const auto& w) { return w.expired(); });
        set->remotes.push_back(remote);
    }
    bus::InMessage holder;
    auto d = remote->describe(holder);
    ExtensionContent content;
    content.info.name = d.getName().cStr();
    content.info.version = d.getVersion().cStr();
    content.info.source = endpoint;
    LOOM_REQUIRE(!content.info.name.empty(), "the extension hosted at {} has no name", endpoint);
    for (auto op : carried(d.getOps(), "ops")) {
        model::OpSpec spec;
        spec.type = op.getType().cStr();
        spec.version = op.getDomain().cStr();
        LOOM_REQUIRE(
            !spec.type.empty() && !spec.version.empty() && !model::opset_number(spec.version),
            "the extension hosted at {} describes an op without a type or domain", endpoint);
        for (auto a : carried(op.getAttrs(), "attributes"))
            spec.attrs.push_back({a.getName().cStr(), from_schema(a.getKind()), a.getRequired()});
        spec.min_inputs = op.getMinInputs();
        spec.max_inputs = op.getMaxInputs() == UINT32_MAX ? SIZE_MAX : op.getMaxInputs();
        spec.infer = [remote](model::InferContext& ctx) { remote->infer(ctx); };
        spec.evaluate = [remote](const model::Node& n, std::span<const Tensor> in) {
            return remote->evaluate(n, in);
        };
        spec.owner = remote;
        content.info.ops.push_back(spec.type + "@" + spec.version);
        content.ops.push_back(std::move(spec));
    }
    return content;
}

} // namespace

ExtensionContent open_remote(bus::Context& context, const std::string& endpoint) {
    return open_remote(context, endpoint, nullptr);
}

ExtensionOpener make_opener(bus::Context& context) {
    auto set = std::make_shared<RemoteSet>();
    return [&context, set](const std::string& source) {
        if (source.starts_with("ipc://") || source.starts_with("tcp://") ||
            source.starts_with("inproc://"))
            return open_remote(context, source, set.get());
        auto library = ExtensionLibrary::open(source);
        ExtensionContent content;
        content.info.name = library->name();
        content.info.version = library->version();
        content.info.source = source;
        content.info.ops = library->op_names();
        content.info.mapped_path = library->mapped_path();
        content.ops = library->op_specs(library->name());
        content.conversions = library->conversions(library->name());
        for (const auto& c : content.conversions)
            content.info.conversions.push_back(c.framework + ":" + c.domain + ":" + c.type);
        return content;
    };
}

} // namespace loom::extensions
