// A client host's HETERO run for the multi-host tests: loads the template extension into one
// device host's own loader (as its operator: OPS_KEY), then, as a client (APP_KEY), reads
// x → Relu → Activation (the extension's op) → Sigmoid here and runs it on HETERO:CPU@PLAIN,
// CPU@WITH_EXT — the custom op on the host that has it, the rest on the other — and on this
// process's REFERENCE (which has the extension too). Prints "affinity NODE DEVICE" per node,
// "stages …", and "max_abs_diff D"; exit 0 when it ran.
//
//   loom_test_hetero_client LIBRARY OPS_KEY APP_KEY PLAIN_ENDPOINT PLAIN_PUB EXT_ENDPOINT EXT_PUB

#include <cmath>
#include <iostream>
#include <span>

#include <loom/core.hpp>

#include "bus/channel.hpp"
#include "bus/context.hpp"
#include "bus/security.hpp"
#include "schemas/extensions.capnp.h"
#include "tests/extensions/ext_models.hpp"

int main(int argc, char** argv) {
    if (argc != 8) {
        std::cerr << "usage: loom_test_hetero_client LIBRARY OPS_KEY APP_KEY PLAIN_ENDPOINT "
                     "PLAIN_PUB EXT_ENDPOINT EXT_PUB\n";
        return 2;
    }
    const std::string library = argv[1], ops = argv[2], app = argv[3], plain = argv[4],
                      plain_pub = argv[5], ext = argv[6], ext_pub = argv[7];
    try {
        {
            loom::bus::Context context;
            loom::bus::ChannelOptions options;
            options.security = loom::bus::ClientSecurity{loom::bus::KeyPair::load(ops),
                                                         loom::bus::load_public_key(ext_pub)};
            loom::bus::Channel loader(context, ext, "extensions", options);
            loom::bus::OutMessage request;
            request.init_payload<loom::schema::ExtensionLoadRequest>().setSource(library);
            loader.call(loom::schema::ExtensionMethod::LOAD, std::move(request));
        }
        loom::CoreOptions options;
        options.client_key_file = app;
        options.server_keys = {{plain, plain_pub}, {ext, ext_pub}};
        loom::Core core(options);
        core.add_extension(library);
        const auto xml = loom::test::hetero_chain();
        auto model = core.read_model(std::as_bytes(std::span(xml.data(), xml.size())), {});
        const auto hetero = "HETERO:CPU@" + plain + ",CPU@" + ext;
        for (const auto& [node, device] : core.query_model(model, hetero))
            std::cout << "affinity " << node << " " << device << "\n";
        auto compiled = core.compile_model(model, hetero);
        std::cout << "stages " << compiled.get_property("LOOM_HETERO_STAGES").size() << "\n";
        const auto x = loom::test::hetero_chain_input();
        auto request = compiled.create_infer_request();
        request.set_input_tensor(x);
        request.infer();
        const auto expected = loom::test::reference_output(core, model, x);
        double diff = 0;
        const auto* y = static_cast<const float*>(request.get_output_tensor(0).data());
        const auto* e = static_cast<const float*>(expected.data());
        for (int i = 0; i < 16; ++i)
            diff = std::max(diff, static_cast<double>(std::fabs(y[i] - e[i])));
        std::cout << "max_abs_diff " << diff << std::endl;
        return 0;
    } catch (const std::exception& ex) {
        std::cout << "error: " << ex.what() << std::endl;
        return 1;
    }
}
