// The extension loader's low level: ELF inspection, opening checked libraries, host-side specs
// and unloading (DESIGN.md §6). The test libraries are built by tests/extensions/.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "components/extensions/elf_info.hpp"
#include "components/extensions/library.hpp"

namespace loom::extensions {
namespace {

namespace fs = std::filesystem;
using model::Tensor;

// Runs f, expecting a loom::Error of `kind` whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, ErrorKind kind, std::initializer_list<std::string> parts) {
    try {
        f();
        ADD_FAILURE() << "no error thrown";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        for (const auto& part : parts)
            EXPECT_NE(e.message().find(part), std::string::npos)
                << "'" << part << "' not in: " << e.message();
    }
}

// True when some mapping's path contains `part`.
bool mapping_contains(const std::string& part) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find(part) != std::string::npos) return true;
    return false;
}

std::vector<char> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Tensor f32_tensor(const model::Shape& shape, std::vector<float> values) {
    return Tensor::copy_of(ElementType::F32, shape,
                           std::as_bytes(std::span<const float>(values.data(), values.size())));
}

std::vector<float> values(const Tensor& t) {
    return {t.data<float>(), t.data<float>() + t.size()};
}

class LibraryTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("loom-library-test-" + std::to_string(::getpid()));
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    // A Model with a parameter and a Twice node on it (typed by the spec's infer).
    struct TwiceGraph {
        model::Model model;
        model::Node* node = nullptr;
    };
    static void build(TwiceGraph& g, ElementType type) {
        auto& p = g.model.add_parameter(type, model::PartialShape(model::Shape{2, 3}), "x");
        g.node = &g.model.add("Twice", "loom.test", {p.output(0)});
    }

    fs::path m_dir;
};

TEST_F(LibraryTest, ElfInfoOfGoodLibrary) {
    auto info = read_elf_info(LOOM_EXT_TEST_GOOD);
    bool model = false;
    for (const auto& n : info.needed)
        model = model || n.rfind("libloom_model", 0) == 0;
    EXPECT_TRUE(model) << "libloom_model not among " << info.needed.size() << " DT_NEEDED";
    EXPECT_TRUE(info.unique_symbols.empty());
}

TEST_F(LibraryTest, ElfInfoFindsUniqueSymbols) {
    auto info = read_elf_info(LOOM_EXT_TEST_UNIQUE);
    bool found = false;
    for (const auto& s : info.unique_symbols)
        found = found || s == "loom_test_unique::g_loads";
    EXPECT_TRUE(found);
}

TEST_F(LibraryTest, ElfInfoWithoutSectionHeadersUsesTheDynamicSegment) {
    // e_shoff = e_shnum = e_shstrndx = 0: symbols are found through DT_SYMTAB and the hash table.
    auto bytes = read_bytes(LOOM_EXT_TEST_UNIQUE);
    ASSERT_GT(bytes.size(), 64u);
    std::fill(bytes.begin() + 0x28, bytes.begin() + 0x30, '\0'); // e_shoff
    std::fill(bytes.begin() + 0x3c, bytes.begin() + 0x40, '\0'); // e_shnum, e_shstrndx
    auto path = m_dir / "no_sections.so";
    write_bytes(path, bytes);
    auto info = read_elf_info(path);
    auto original = read_elf_info(LOOM_EXT_TEST_UNIQUE);
    EXPECT_EQ(info.needed, original.needed);
    EXPECT_EQ(info.unique_symbols, original.unique_symbols);
}

TEST_F(LibraryTest, ElfInfoRefusesMissingTruncatedAndRandomFiles) {
    expect_error([&] { read_elf_info(m_dir / "missing.so"); }, ErrorKind::NOT_FOUND,
                 {"missing.so", "does not exist"});
    auto bytes = read_bytes(LOOM_EXT_TEST_GOOD);
    ASSERT_GT(bytes.size(), 4096u);
    for (std::size_t size : {std::size_t{0}, std::size_t{4}, std::size_t{63}, std::size_t{64},
                             std::size_t{200}, bytes.size() / 2, bytes.size() - 1}) {
        SCOPED_TRACE(size);
        auto path = m_dir / ("truncated-" + std::to_string(size) + ".so");
        write_bytes(path, {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)});
        expect_error([&] { read_elf_info(path); }, ErrorKind::INVALID_ARGUMENT, {path.string()});
    }
    std::mt19937 rng(42);
    std::vector<char> noise(4096);
    for (auto& c : noise)
        c = static_cast<char>(rng());
    auto path = m_dir / "noise.so";
    write_bytes(path, noise);
    expect_error([&] { read_elf_info(path); }, ErrorKind::INVALID_ARGUMENT,
                 {path.string(), "\\x7fELF"});
    expect_error([&] { (void)ExtensionLibrary::open(path); }, ErrorKind::INVALID_ARGUMENT,
                 {path.string()});
}

TEST_F(LibraryTest, ElfInfoSurvivesCorruptedHeaders) {
    // Random bytes written over the headers and tables: a result or invalid_argument, no crash.
    auto bytes = read_bytes(LOOM_EXT_TEST_GOOD);
    std::mt19937 rng(7);
    auto path = m_dir / "mutated.so";
    int refused = 0;
    for (int round = 0; round < 300; ++round) {
        auto mutated = bytes;
        for (int k = 0; k < 8; ++k) {
            // Half the flips in the ELF/program headers, half anywhere.
            auto limit = k % 2 ? mutated.size() : std::size_t{64 + 56 * 12};
            mutated[rng() % limit] = static_cast<char>(rng());
        }
        write_bytes(path, mutated);
        try {
            (void)read_elf_info(path);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT) << e.what();
            ++refused;
        }
    }
    EXPECT_GT(refused, 0);
}

TEST_F(LibraryTest, OpensGoodLibrary) {
    auto lib = ExtensionLibrary::open(LOOM_EXT_TEST_GOOD);
    EXPECT_EQ(lib->name(), "loom_test");
    EXPECT_EQ(lib->version(), "1.0.0");
    EXPECT_EQ(lib->path(), fs::path(LOOM_EXT_TEST_GOOD));
    EXPECT_EQ(lib->op_names(), std::vector<std::string>{"Twice@loom.test"});
    EXPECT_EQ(lib->result().conversions.size(), 1u);
    // The private copy is mapped but already deleted.
    EXPECT_NE(lib->mapped_path(), LOOM_EXT_TEST_GOOD);
    EXPECT_NE(lib->mapped_path().find("loom-ext-"), std::string::npos) << lib->mapped_path();
    EXPECT_TRUE(is_mapped(lib->mapped_path()));
    EXPECT_FALSE(fs::exists(lib->mapped_path()));
    EXPECT_FALSE(fs::exists(fs::path(lib->mapped_path()).parent_path()));
}

TEST_F(LibraryTest, OpSpecInferAndEvaluate) {
    auto lib = ExtensionLibrary::open(LOOM_EXT_TEST_GOOD);
    auto specs = lib->op_specs("test-origin");
    ASSERT_EQ(specs.size(), 1u);
    const auto& spec = specs[0];
    EXPECT_EQ(spec.type, "Twice");
    EXPECT_EQ(spec.version, "loom.test");
    EXPECT_EQ(spec.min_inputs, 1u);
    EXPECT_EQ(spec.max_inputs, 1u);
    EXPECT_EQ(spec.origin, "test-origin");
    EXPECT_TRUE(spec.owner);
    ASSERT_TRUE(spec.infer && spec.evaluate && spec.cpu_kernel);

    model::OpRegistry registry;
    TwiceGraph g;
    build(g, ElementType::F32);
    model::InferContext ctx(*g.node, registry);
    spec.infer(ctx);
    ASSERT_EQ(g.node->outputs.size(), 1u);
    EXPECT_EQ(g.node->outputs[0].type, ElementType::F32);
    EXPECT_EQ(g.node->outputs[0].shape, model::PartialShape(model::Shape{2, 3}));

    auto x = f32_tensor({2, 3}, {1, 2, 3, -4, 0.5f, 0});
    auto out = spec.evaluate(*g.node, std::span<const Tensor>(&x, 1));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), (model::Shape{2, 3}));
    EXPECT_EQ(values(out[0]), (std::vector<float>{2, 4, 6, -8, 1, 0}));

    // A failure inside the library comes back as loom::Error naming the extension and op.
    TwiceGraph bad;
    build(bad, ElementType::I64);
    model::InferContext bad_ctx(*bad.node, registry);
    expect_error([&] { spec.infer(bad_ctx); }, ErrorKind::INVALID_ARGUMENT,
                 {"loom_test Twice: ", "Twice takes f32"});
    auto i64 = Tensor::allocate(ElementType::I64, {2});
    expect_error([&] { spec.evaluate(*g.node, std::span<const Tensor>(&i64, 1)); },
                 ErrorKind::INVALID_ARGUMENT, {"loom_test Twice: ", "Twice takes f32"});
}

TEST_F(LibraryTest, CpuKernelUsesTheHostsParallelFor) {
    auto lib = ExtensionLibrary::open(LOOM_EXT_TEST_GOOD);
    auto specs = lib->op_specs("o");
    TwiceGraph g;
    build(g, ElementType::F32);
    auto x = f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6});
    std::vector<Tensor> outputs{Tensor::allocate(ElementType::F32, {2, 3})};
    int chunks = 0;
    model::ParallelFor serial = [&](std::size_t n,
                                    const std::function<void(std::size_t, std::size_t)>& body) {
        body(0, n / 2);
        body(n / 2, n);
        chunks += 2;
    };
    model::CpuKernelContext ctx{*g.node, std::span<const Tensor>(&x, 1), outputs, serial};
    specs[0].cpu_kernel(ctx);
    EXPECT_EQ(chunks, 2);
    EXPECT_EQ(values(outputs[0]), (std::vector<float>{2, 4, 6, 8, 10, 12}));
}

TEST_F(LibraryTest, ConversionBuildsExistingOps) {
    auto lib = ExtensionLibrary::open(LOOM_EXT_TEST_GOOD);
    auto conversions = lib->conversions("conv-origin");
    ASSERT_EQ(conversions.size(), 1u);
    const auto& conv = conversions[0];
    EXPECT_EQ(conv.framework, "onnx");
    EXPECT_EQ(conv.domain, "loom.test");
    EXPECT_EQ(conv.type, "AddOne");
    EXPECT_EQ(conv.origin, "conv-origin");
    EXPECT_TRUE(conv.owner);

    model::Model m;
    auto& p = m.add_parameter(ElementType::F32, model::PartialShape(model::Shape{3}), "x");
    model::ConversionContext ctx(m, {p.output(0)}, {}, "add_one_node");
    auto outs = conv.convert(ctx);
    ASSERT_EQ(outs.size(), 1u);
    auto* add = outs[0].node;
    EXPECT_EQ(add->type, "Add");
    EXPECT_EQ(add->version, "opset1");
    EXPECT_EQ(add->name, "add_one_node");
    ASSERT_EQ(add->inputs.size(), 2u);
    EXPECT_EQ(add->inputs[0], p.output(0));
    auto* one = add->inputs[1].node;
    EXPECT_EQ(one->type, "Constant");
    EXPECT_EQ(values(one->value), std::vector<float>{1.0f});
    EXPECT_EQ(ctx.created().size(), 2u);
}

TEST_F(LibraryTest, BrokenLibrariesAreRefused) {
    expect_error([] { (void)ExtensionLibrary::open(LOOM_EXT_TEST_NO_ENTRY); }, ErrorKind::NOT_FOUND,
                 {LOOM_EXT_TEST_NO_ENTRY, "is not a Loom extension library",
                  "does not export loom_create_extensions"});
    expect_error(
        [] { (void)ExtensionLibrary::open(LOOM_EXT_TEST_ABI); }, ErrorKind::UNSUPPORTED,
        {LOOM_EXT_TEST_ABI, "extension ABI version 1 requested", "this library implements 999"});
    expect_error([] { (void)ExtensionLibrary::open(LOOM_EXT_TEST_THROWS); },
                 ErrorKind::INVALID_ARGUMENT, {LOOM_EXT_TEST_THROWS, "init failed on purpose"});
    expect_error([] { (void)ExtensionLibrary::open(LOOM_EXT_TEST_UNIQUE); },
                 ErrorKind::INVALID_ARGUMENT,
                 {LOOM_EXT_TEST_UNIQUE, "STB_GNU_UNIQUE", "loom_test_unique::g_loads",
                  "build with -fno-gnu-unique"});
    expect_error([&] { (void)ExtensionLibrary::open(m_dir / "nothing.so"); }, ErrorKind::NOT_FOUND,
                 {"nothing.so", "does not exist"});
    // A refused library is unloaded again (the unique one was never loaded).
    for (const char* stem : {"libloom_ext_test_no_entry", "libloom_ext_test_abi",
                             "libloom_ext_test_throws", "libloom_ext_test_unique"})
        EXPECT_FALSE(mapping_contains(stem)) << stem;
}

TEST_F(LibraryTest, FailingShapeFunctionIsReported) {
    auto lib = ExtensionLibrary::open(LOOM_EXT_TEST_BADSHAPE);
    EXPECT_EQ(lib->op_names(), std::vector<std::string>{"Twice@loom.test"});
    auto specs = lib->op_specs("o");
    model::OpRegistry registry;
    TwiceGraph g;
    build(g, ElementType::F32);
    model::InferContext ctx(*g.node, registry);
    expect_error([&] { specs[0].infer(ctx); }, ErrorKind::INVALID_ARGUMENT,
                 {"loom_test Twice: bad shape function"});
    EXPECT_FALSE(specs[0].cpu_kernel);
}

TEST_F(LibraryTest, UnloadedAfterTheLastRelease) {
    auto lib = ExtensionLibrary::open(LOOM_EXT_TEST_GOOD);
    const auto mapped = lib->mapped_path();
    auto specs = lib->op_specs("o");
    auto conversions = lib->conversions("o");
    lib.reset();
    EXPECT_TRUE(is_mapped(mapped));

    // A spec copy keeps it loaded and working.
    auto spec = specs[0];
    specs.clear();
    EXPECT_TRUE(is_mapped(mapped));
    TwiceGraph g;
    build(g, ElementType::F32);
    auto x = f32_tensor({2}, {1, 2});
    auto out = spec.evaluate(*g.node, std::span<const Tensor>(&x, 1));
    spec = {};
    EXPECT_TRUE(is_mapped(mapped)) << "the conversion spec still holds it";
    conversions.clear();
    // A tensor the library returned keeps it loaded too (its owner may run library code).
    EXPECT_TRUE(is_mapped(mapped));
    EXPECT_EQ(values(out[0]), (std::vector<float>{2, 4}));
    out.clear();
    EXPECT_FALSE(is_mapped(mapped));
}

TEST_F(LibraryTest, OpeningTwiceGivesTwoPrivateCopies) {
    auto a = ExtensionLibrary::open(LOOM_EXT_TEST_GOOD);
    auto b = ExtensionLibrary::open(LOOM_EXT_TEST_GOOD);
    EXPECT_NE(a->mapped_path(), b->mapped_path());
    EXPECT_TRUE(is_mapped(a->mapped_path()));
    EXPECT_TRUE(is_mapped(b->mapped_path()));
    const auto a_path = a->mapped_path();
    auto b_specs = b->op_specs("b");
    a.reset();
    EXPECT_FALSE(is_mapped(a_path));
    EXPECT_TRUE(is_mapped(b->mapped_path()));
    TwiceGraph g;
    build(g, ElementType::F32);
    auto x = f32_tensor({1}, {21});
    EXPECT_EQ(values(b_specs[0].evaluate(*g.node, std::span<const Tensor>(&x, 1))[0]),
              std::vector<float>{42});
}

TEST_F(LibraryTest, OverwritingOrDeletingTheOriginalDoesNotAffectTheLoadedLibrary) {
    auto original = m_dir / "libcopy_of_good.so";
    fs::copy_file(LOOM_EXT_TEST_GOOD, original);
    auto lib = ExtensionLibrary::open(original);
    EXPECT_EQ(lib->path(), original);
    EXPECT_NE(lib->mapped_path().find("libcopy_of_good-"), std::string::npos);
    auto specs = lib->op_specs("o");
    TwiceGraph g;
    build(g, ElementType::F32);
    auto x = f32_tensor({3}, {1, 2, 3});
    auto run = [&] {
        return values(specs[0].evaluate(*g.node, std::span<const Tensor>(&x, 1))[0]);
    };

    // Rebuilt in place: same inode, new (here: garbage) contents.
    {
        std::fstream f(original, std::ios::binary | std::ios::in | std::ios::out);
        std::vector<char> garbage(8192, '\x5a');
        f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    EXPECT_EQ(run(), (std::vector<float>{2, 4, 6}));
    fs::remove(original);
    EXPECT_EQ(run(), (std::vector<float>{2, 4, 6}));
    const auto mapped = lib->mapped_path();
    lib.reset();
    specs.clear();
    EXPECT_FALSE(is_mapped(mapped));
}

TEST_F(LibraryTest, PrivateCopyGoesUnderTmpdir) {
    const char* old = std::getenv("TMPDIR");
    std::string saved = old ? old : "";
    auto tmp = m_dir / "tmp";
    fs::create_directories(tmp);
    ::setenv("TMPDIR", tmp.c_str(), 1);
    auto lib = ExtensionLibrary::open(LOOM_EXT_TEST_GOOD);
    if (old)
        ::setenv("TMPDIR", saved.c_str(), 1);
    else
        ::unsetenv("TMPDIR");
    EXPECT_EQ(lib->mapped_path().rfind(fs::canonical(tmp).string() + "/loom-ext-", 0), 0u)
        << lib->mapped_path();
    EXPECT_TRUE(fs::is_empty(tmp)) << "the private directory is removed after loading";
}

TEST_F(LibraryTest, NeededRuntimesStayLoadedAfterUnload) {
    auto info = read_elf_info(LOOM_EXT_TEST_NEEDS_GOMP);
    bool needs_gomp = false;
    for (const auto& n : info.needed)
        needs_gomp = needs_gomp || n.rfind("libgomp.so", 0) == 0;
    ASSERT_TRUE(needs_gomp);
    auto lib = ExtensionLibrary::open(LOOM_EXT_TEST_NEEDS_GOMP);
    EXPECT_TRUE(mapping_contains("/libgomp.so"));
    const auto mapped = lib->mapped_path();
    lib.reset();
    EXPECT_FALSE(is_mapped(mapped));
    EXPECT_TRUE(mapping_contains("/libgomp.so")) << "libgomp must be loaded RTLD_NODELETE";
}

TEST(IsMapped, KnowsThisProcessMappings) {
    EXPECT_FALSE(is_mapped("/nonexistent/library.so"));
    EXPECT_FALSE(is_mapped(""));
    auto self = fs::read_symlink("/proc/self/exe").string();
    EXPECT_TRUE(is_mapped(self));
}

} // namespace
} // namespace loom::extensions
