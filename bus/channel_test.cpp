#include "bus/channel.hpp"
#include "bus/server.hpp"

#include <gtest/gtest.h>

TEST(Smoke, Builds) { SUCCEED(); }
