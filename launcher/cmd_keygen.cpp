// loom keygen -o STEM — a CURVE key pair for tcp:// endpoints.

#include <iostream>

#include "bus/security.hpp"
#include "launcher/commands.hpp"

namespace loom::launcher {

void add_keygen_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("keygen", "Write a CURVE key pair: STEM.key (secret, mode "
                                             "0600) and STEM.pub (public key to share)");
    auto stem = std::make_shared<std::string>();
    cmd->add_option("-o,--output", *stem, "Path stem of the key files")->required();
    cmd->callback([&exit_code, stem] {
        exit_code = guarded("keygen", [&] {
            auto keys = bus::KeyPair::generate();
            keys.save(*stem);
            std::cout << "wrote " << *stem << ".key and " << *stem << ".pub\n"
                      << "public key: " << keys.public_key << "\n";
        });
    });
}

} // namespace loom::launcher
