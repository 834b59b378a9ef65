// Loads an extension library with the installed SDK header and libloom_model, the way the
// extension loader does (dlopen + entry), and prints what it provides:
//   load_extension LIB  →  "NAME VERSION: DOMAIN/TYPE ..."; exit 1 when the entry fails, it
// provides no op, or its Identity op (if any) does not return its input.
#include <dlfcn.h>

#include <cstring>
#include <iostream>

#include "extensions/sdk/extension.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: load_extension LIB\n";
        return 2;
    }
    void* handle = ::dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        std::cerr << "dlopen: " << ::dlerror() << "\n";
        return 1;
    }
    auto entry = reinterpret_cast<loom::extensions::sdk::ExtensionEntry>(
        ::dlsym(handle, loom::extensions::sdk::k_extension_entry_symbol));
    if (!entry) {
        std::cerr << argv[1] << " does not export "
                  << loom::extensions::sdk::k_extension_entry_symbol << "\n";
        return 1;
    }
    int rc = 0;
    {
        loom::extensions::sdk::ExtensionResult
            result; // holds the library's code: destroyed before dlclose
        entry(loom::extensions::sdk::ExtensionArgs{}, result);
        if (!result.error.empty()) {
            std::cerr << "entry failed: " << result.error << "\n";
            rc = 1;
        }
        std::cout << result.name << " " << result.version << ":";
        for (const auto& op : result.ops)
            std::cout << " " << op.domain << "/" << op.type;
        std::cout << "\n";
        if (result.ops.empty()) rc = 1;
        for (const auto& op : result.ops) {
            if (op.type != "Identity") continue;
            auto x = loom::model::Tensor::allocate(loom::ElementType::F32, {2, 3});
            const float values[] = {1, 2, 3, 4, 5, 6};
            std::memcpy(x.mutable_data(), values, sizeof values);
            loom::model::Node node;
            std::vector<loom::model::Tensor> out;
            auto status = op.evaluate(node, std::span<const loom::model::Tensor>(&x, 1), out);
            if (!status.ok || out.size() != 1 || !out[0].same_as(x)) {
                std::cerr << "Identity does not return its input: " << status.message << "\n";
                rc = 1;
            }
        }
    }
    ::dlclose(handle);
    return rc;
}
