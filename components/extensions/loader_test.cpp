// ExtensionLoader over a RegistryHost (DESIGN.md §4, §5): publication, collisions, the swap rule
// (same op schema; every snapshot user must accept), deferred unload. Extensions here are made by
// a fake opener, so each rule is checked without libraries; library_test covers real ones.

#include <gtest/gtest.h>

#include "components/extensions/loader.hpp"
#include "schemas/error.hpp"

namespace loom::extensions {
namespace {

using model::Tensor;

model::OpSpec op(std::string type, std::string domain, std::vector<model::AttrSpec> attrs = {}) {
    model::OpSpec s;
    s.type = std::move(type);
    s.version = std::move(domain);
    s.attrs = std::move(attrs);
    s.min_inputs = s.max_inputs = 1;
    s.infer = [](model::InferContext& c) { c.set_output(0, c.input_type(0), c.input_shape(0)); };
    s.evaluate = [](const model::Node&, std::span<const Tensor> in) {
        return std::vector<Tensor>{in[0]};
    };
    return s;
}

// Sources name fake extensions: "<name>:<version>:<op type>[:<attr>]". Each content's ops hold
// a token whose lifetime the tests watch (the library's stand-in).
struct FakeOpener {
    std::map<std::string, std::weak_ptr<int>> tokens;
    ExtensionContent operator()(const std::string& source) {
        auto parts = std::vector<std::string>{};
        std::size_t start = 0;
        for (;;) {
            auto end = source.find(':', start);
            parts.push_back(source.substr(start, end - start));
            if (end == std::string::npos) break;
            start = end + 1;
        }
        if (parts[0] == "broken")
            LOOM_THROW(ErrorKind::NOT_FOUND, "{} does not export loom_create_extensions", source);
        ExtensionContent c;
        c.info.name = parts.at(0);
        c.info.version = parts.at(1);
        c.info.source = source;
        std::vector<model::AttrSpec> attrs;
        if (parts.size() > 3) attrs.push_back({parts[3], model::AttrKind::Float, true});
        auto token = std::make_shared<int>(0);
        tokens[source] = token;
        auto spec = op(parts.at(2), "test.ext", attrs);
        spec.owner = token;
        c.info.ops.push_back(spec.type + "@test.ext");
        c.ops.push_back(std::move(spec));
        return c;
    }
};

// A snapshot user that records what it was asked and may refuse.
struct User final : model::SnapshotUser {
    std::vector<std::uint64_t> prepared, settled;
    bool refuse = false;
    std::shared_ptr<const model::OpRegistry> kept; // like a compiled model's plan
    void prepare(const std::shared_ptr<const model::OpRegistry>& candidate) override {
        prepared.push_back(candidate->generation());
        if (refuse) LOOM_THROW(ErrorKind::INVALID_ARGUMENT, "compiled model 'm' refuses");
        kept = candidate;
    }
    void settle(std::uint64_t generation) noexcept override {
        settled.push_back(generation);
        if (kept && kept->generation() != generation) kept.reset();
    }
};

struct LoaderTest : ::testing::Test {
    std::vector<model::Watch> watches;
    void watch(User& u) { watches.push_back(host->watch(u)); }
    std::shared_ptr<model::RegistryHost> host = model::make_native_registry_host();
    std::shared_ptr<FakeOpener> fake = std::make_shared<FakeOpener>();
    ExtensionLoader loader{host, [f = fake](const std::string& s) { return (*f)(s); }};
};

ErrorKind kind_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.kind();
    }
    return ErrorKind::INTERNAL; // "no error" shows up as a mismatch
}

TEST_F(LoaderTest, LoadPublishesANewSnapshotWithTheOps) {
    const auto before = host->current();
    auto info = loader.load("ext:1:Twice");
    EXPECT_EQ(info.name, "ext");
    auto now = host->current();
    EXPECT_GT(now->generation(), before->generation());
    ASSERT_NE(now->find("Twice", "test.ext"), nullptr);
    EXPECT_EQ(now->find("Twice", "test.ext")->origin, "ext");
    EXPECT_EQ(before->find("Twice", "test.ext"), nullptr); // old snapshots never change
    ASSERT_EQ(loader.list().size(), 1u);
    EXPECT_EQ(loader.list()[0].version, "1");
}

TEST_F(LoaderTest, SameNameOrSameOpTwiceIsRefused) {
    loader.load("ext:1:Twice");
    EXPECT_EQ(kind_of([&] { loader.load("ext:2:Other"); }), ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(kind_of([&] { loader.load("other:1:Twice"); }), ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(host->current()->find("Other", "test.ext"), nullptr);
    EXPECT_EQ(loader.list().size(), 1u);
}

TEST_F(LoaderTest, AnOpenerErrorChangesNothing) {
    const auto generation = host->current()->generation();
    EXPECT_EQ(kind_of([&] { loader.load("broken:1:X"); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(host->current()->generation(), generation);
}

TEST_F(LoaderTest, SwapReplacesTheOpsAndUsersPrepareFirst) {
    auto user = std::make_shared<User>();
    watch(*user);
    loader.load("ext:1:Twice:alpha");
    auto v1_token = fake->tokens["ext:1:Twice:alpha"];
    loader.swap("ext", "ext:2:Twice:alpha");
    auto now = host->current();
    ASSERT_EQ(user->prepared.size(), 2u); // load and swap both prepared
    EXPECT_EQ(user->prepared.back(), now->generation());
    EXPECT_EQ(user->settled.back(), now->generation());
    EXPECT_EQ(loader.list().at(0).version, "2");
    // Nothing holds the old version any more: its "library" is released.
    EXPECT_TRUE(v1_token.expired());
}

TEST_F(LoaderTest, SwapToAnotherSchemaIsRefusedAndTheOldVersionStays) {
    loader.load("ext:1:Twice:alpha");
    const auto generation = host->current()->generation();
    EXPECT_EQ(kind_of([&] { loader.swap("ext", "ext:2:Thrice:alpha"); }),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(kind_of([&] { loader.swap("ext", "ext:2:Twice:beta"); }),
              ErrorKind::INVALID_ARGUMENT);
    EXPECT_EQ(kind_of([&] { loader.swap("nope", "ext:2:Twice:alpha"); }), ErrorKind::NOT_FOUND);
    EXPECT_EQ(host->current()->generation(), generation);
    EXPECT_EQ(loader.list().at(0).version, "1");
    // The refused candidates are not held by anyone.
    EXPECT_TRUE(fake->tokens["ext:2:Thrice:alpha"].expired());
}

TEST_F(LoaderTest, AUserRefusalAbortsTheSwapAndEveryUserSettlesBack) {
    auto ok = std::make_shared<User>();
    auto refusing = std::make_shared<User>();
    loader.load("ext:1:Twice");
    watch(*ok);
    watch(*refusing);
    refusing->refuse = true;
    const auto generation = host->current()->generation();
    try {
        loader.swap("ext", "ext:2:Twice");
        FAIL() << "the swap was not refused";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        EXPECT_NE(e.message().find("refuses"), std::string::npos) << e.message();
    }
    EXPECT_EQ(host->current()->generation(), generation);
    ASSERT_FALSE(ok->settled.empty());
    EXPECT_EQ(ok->settled.back(), generation); // dropped what it prepared
    EXPECT_EQ(ok->kept, nullptr);
    EXPECT_TRUE(fake->tokens["ext:2:Twice"].expired());
    EXPECT_EQ(loader.list().at(0).version, "1");
}

TEST_F(LoaderTest, UnloadIsDeferredWhileASnapshotHoldsTheOps) {
    loader.load("ext:1:Twice");
    auto token = fake->tokens["ext:1:Twice"];
    auto pinned = host->current(); // a running request or compiled model
    loader.unload("ext");
    EXPECT_EQ(host->current()->find("Twice", "test.ext"), nullptr);
    EXPECT_TRUE(loader.list().empty());
    EXPECT_FALSE(token.expired());
    pinned.reset();
    EXPECT_TRUE(token.expired());
    EXPECT_EQ(kind_of([&] { loader.unload("ext"); }), ErrorKind::NOT_FOUND);
}

} // namespace
} // namespace loom::extensions
