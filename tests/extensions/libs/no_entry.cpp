// A shared library that is not a Loom extension: it exports no loom_create_extensions.
extern "C" __attribute__((visibility("default"))) int loom_not_an_extension() {
    return 42;
}
