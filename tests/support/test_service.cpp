#include "tests/support/test_service.hpp"
#include "schemas/schema_enums.hpp"

#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>

#include "bus/tensor_frame.hpp"

namespace loom::test {
namespace {

struct HoldState {
    std::mutex mutex;
    std::condition_variable cv;
    std::uint32_t holding = 0;
    std::uint64_t releases = 0;
    std::atomic<std::uint64_t> served{0};
};

} // namespace

std::uint64_t checksum(std::span<const std::byte> bytes) noexcept {
    std::uint64_t sum = 0;
    std::size_t words = bytes.size() / 8;
    const std::byte* p = bytes.data();
    for (std::size_t i = 0; i < words; ++i) {
        std::uint64_t w;
        std::memcpy(&w, p + i * 8, 8);
        sum += w;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, p + words * 8, bytes.size() - words * 8);
    return sum + tail;
}

std::shared_ptr<bus::Service> make_test_service(std::string name, std::string version,
                                                bus::ServiceOptions options) {
    auto service = std::make_shared<bus::Service>(name, version, options);
    auto state = std::make_shared<HoldState>();
    std::uint64_t instance = std::random_device{}();

    service->on(TestMethod::ECHO, [version, instance, state](bus::Call& call) {
        state->served.fetch_add(1);
        auto in = call.params<schema::EchoRequest>();
        auto out = call.init_reply<schema::EchoReply>();
        out.setText(in.getText());
        out.setValue(in.getValue());
        out.setVersion(version);
        out.setInstance(instance);
        auto tensors = out.initTensors(in.getTensors().size());
        for (unsigned i = 0; i < in.getTensors().size(); ++i) {
            auto t = bus::read_tensor(call.request(), in.getTensors()[i]);
            bus::write_tensor(call.reply(), tensors[i], t.type, t.shape, t.data, t.name);
        }
    });
    service->on(TestMethod::CHECKSUM, [state](bus::Call& call) {
        state->served.fetch_add(1);
        auto t =
            bus::read_tensor(call.request(), call.params<schema::ChecksumRequest>().getTensor());
        auto out = call.init_reply<schema::ChecksumReply>();
        out.setSum(checksum(t.data.bytes()));
        out.setBytes(t.data.size());
    });
    service->on(TestMethod::HOLD, [state](bus::Call& call) {
        auto cap = std::chrono::milliseconds(call.params<schema::HoldRequest>().getCapMs());
        std::unique_lock lock(state->mutex);
        auto seen = state->releases;
        ++state->holding;
        state->cv.notify_all();
        bool released = state->cv.wait_for(lock, cap, [&] { return state->releases != seen; });
        --state->holding;
        auto out = call.init_reply<schema::HoldReply>();
        out.setReleased(released);
        out.setHolding(state->holding);
    });
    service->on(TestMethod::RELEASE, [state](bus::Call& call) {
        std::lock_guard lock(state->mutex);
        ++state->releases;
        state->cv.notify_all();
        call.init_reply<schema::HoldReply>().setHolding(state->holding);
    });
    service->on(TestMethod::FAIL, [](bus::Call& call) {
        auto in = call.params<schema::FailRequest>();
        throw Error(from_schema(in.getKind()), in.getMessage().cStr());
    });
    service->on(TestMethod::IDENTIFY, [name, version, instance](bus::Call& call) {
        auto out = call.init_reply<schema::Identity>();
        out.setName(name);
        out.setVersion(version);
        out.setPid(static_cast<std::int32_t>(::getpid()));
        out.setInstance(instance);
    });
    service->on(TestMethod::ABORT, [](bus::Call&) { std::abort(); });
    service->on(TestMethod::STATS, [state](bus::Call& call) {
        std::lock_guard lock(state->mutex);
        auto out = call.init_reply<schema::Stats>();
        out.setHolding(state->holding);
        out.setServed(state->served.load());
    });
    return service;
}

} // namespace loom::test
