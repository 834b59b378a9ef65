#include "schemas/error.hpp"
#include "schemas/schema_enums.hpp"

#include <gtest/gtest.h>

#include <capnp/schema.h>

namespace loom {
namespace {

TEST(Error, EveryKindOfTheSchemaHasADistinctName) {
    auto enumerants = capnp::Schema::from<schema::ErrorKind>().getEnumerants();
    // DESIGN.md §3 lists eleven kinds; `permission_denied` was appended for roles (§3 "Secure by
    // default"). Kinds are only ever appended.
    ASSERT_EQ(enumerants.size(), 12u);
    std::set<std::string_view> names;
    for (auto e : enumerants) {
        auto kind = static_cast<ErrorKind>(e.getOrdinal());
        auto name = to_string(kind);
        EXPECT_NE(name, "unknown_error_kind");
        // The snake_case name matches the schema's camelCase enumerant.
        std::string camel;
        bool upper = false;
        for (char c : name) {
            if (c == '_') {
                upper = true;
                continue;
            }
            camel += upper ? static_cast<char>(std::toupper(c)) : c;
            upper = false;
        }
        EXPECT_EQ(camel, std::string(e.getProto().getName().cStr()));
        names.insert(name);
    }
    EXPECT_EQ(names.size(), enumerants.size());
}

TEST(Error, RequireThrowsInvalidArgumentWithTheFormattedMessage) {
    int frames = 3;
    try {
        LOOM_REQUIRE(frames < 2, "frame index {} out of range", frames);
        FAIL() << "LOOM_REQUIRE did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INVALID_ARGUMENT);
        EXPECT_EQ(e.message(), "frame index 3 out of range");
        EXPECT_STREQ(e.what(), "invalid_argument: frame index 3 out of range");
    }
    EXPECT_NO_THROW(LOOM_REQUIRE(frames == 3, "not reached {}", frames));
}

TEST(Error, AssertNamesTheConditionAndThePlace) {
    try {
        LOOM_ASSERT(1 + 1 == 3, "arithmetic");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::INTERNAL);
        EXPECT_NE(e.message().find("1 + 1 == 3"), std::string::npos);
        EXPECT_NE(e.message().find("error_test.cpp"), std::string::npos);
        EXPECT_NE(e.message().find("arithmetic"), std::string::npos);
    }
}

TEST(Error, MovedCarriesEndpointAndEpoch) {
    auto e = Error::moved("ipc:///tmp/x", 7, "echo moved");
    EXPECT_EQ(e.kind(), ErrorKind::MOVED);
    EXPECT_EQ(e.moved_to(), "ipc:///tmp/x");
    EXPECT_EQ(e.moved_epoch(), 7u);
}

} // namespace
} // namespace loom
