#pragma once
// `loom ctl ext load|unload|swap|list` — the extension loader of a running deployment.

#include "bus/channel.hpp"
#include "launcher/commands.hpp"

namespace loom::launcher {

struct ExtensionChannel {
    bus::Channel channel; // to the deployment's `extensions` service
};

} // namespace loom::launcher
