@0xf0eefb049b181cf2;
# The test component's protocol. Test code only: it never ships.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::test::schema");

using Bus = import "/schemas/bus.capnp";
using Tensor = import "/schemas/tensor.capnp";

enum TestMethod {
  echo @0;       # EchoRequest -> EchoReply: text, value and tensors back (tensors not copied)
  checksum @1;   # ChecksumRequest -> ChecksumReply: sum over every byte of a tensor
  hold @2;       # HoldRequest -> HoldReply: blocks until released (or the cap passes)
  release @3;    # ReleaseRequest -> HoldReply: wakes every hold
  fail @4;       # FailRequest -> (the error it names)
  identify @5;   # IdentifyRequest -> Identity
  abort @6;      # AbortRequest -> (the process aborts)
  stats @7;      # StatsRequest -> Stats
}

struct EchoRequest {
  text @0 :Text;
  value @1 :Int64;
  tensors @2 :List(Tensor.TensorDesc);
}

struct EchoReply {
  text @0 :Text;
  value @1 :Int64;
  tensors @2 :List(Tensor.TensorDesc);
  version @3 :Text;
  instance @4 :UInt64;
}

struct ChecksumRequest { tensor @0 :Tensor.TensorDesc; }
struct ChecksumReply { sum @0 :UInt64; bytes @1 :UInt64; }

struct HoldRequest { capMs @0 :UInt32; }
struct ReleaseRequest {}
struct HoldReply { released @0 :Bool; holding @1 :UInt32; }

struct FailRequest { kind @0 :Bus.ErrorKind; message @1 :Text; }

struct IdentifyRequest {}
struct Identity { name @0 :Text; version @1 :Text; pid @2 :Int32; instance @3 :UInt64; }

struct AbortRequest {}
struct StatsRequest {}
struct Stats { holding @0 :UInt32; served @1 :UInt64; }
