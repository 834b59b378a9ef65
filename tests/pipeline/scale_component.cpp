// A pipeline-node component for the pipeline tests (test code; built as versions 1 and 2 for
// swap tests, never installed): input "x" (f32, any shape) → output "y" = x · factor, factor =
// the version (1 or 2) unless the configuration says `factor = F`. Implements the pipeline-node
// method (schemas/pipeline.capnp); thread-safe.

#include <toml++/toml.h>

#include "components/protocol/codec.hpp"
#include "kernel/component_api.hpp"
#include "schemas/capnp_lists.hpp"
#include "schemas/pipeline.capnp.h"

namespace {

using loom::ElementType;
using Method = loom::schema::PipelineNodeMethod;

std::shared_ptr<loom::bus::Service> make(const loom::kernel::ComponentArgs& args,
                                         std::string& kind) {
    kind = "pipeline-node";
    const auto config = toml::parse(args.config);
    const double factor = config["factor"].value_or(static_cast<double>(LOOM_SCALE_VERSION));
    loom::bus::ServiceOptions options;
    options.thread_safe = true;
    auto service = std::make_shared<loom::bus::Service>(
        args.name, std::to_string(LOOM_SCALE_VERSION), options);
    service->on(Method::DESCRIBE, [](loom::bus::Call& call) {
        auto d = call.init_reply<loom::schema::NodeInterface>();
        loom::protocol::Port x, y;
        x.name = "x";
        x.type = ElementType::F32;
        y.name = "y";
        y.type = ElementType::F32;
        loom::protocol::put_ports(d.initInputs(1), {x});
        loom::protocol::put_ports(d.initOutputs(1), {y});
    });
    service->on(Method::RUN, [factor](loom::bus::Call& call) {
        auto in = loom::carried(call.params<loom::schema::NodeTensors>().getTensors(), "inputs");
        LOOM_REQUIRE(in.size() == 1 && in[0].getName() == "x", "scale takes one input, x");
        auto x = loom::protocol::take_tensor(call.request(), in[0]);
        LOOM_REQUIRE(x.element_type() == ElementType::F32, "x must be f32");
        auto y = loom::model::Tensor::allocate(ElementType::F32, x.shape());
        auto* p = reinterpret_cast<float*>(y.mutable_data());
        for (std::int64_t i = 0; i < x.size(); ++i)
            p[i] = static_cast<float>(x.data<float>()[i] * factor);
        auto out = call.init_reply<loom::schema::NodeTensors>().initTensors(1);
        loom::protocol::put_tensor(call.reply(), out[0], y, "y");
    });
    return service;
}

} // namespace

LOOM_COMPONENT(make)
