@0xd2b7a5c4e8f01936;
# The reader component's protocol (DESIGN.md §6): read(path | bytes) → Model. The model's
# constants travel as side frames of the reply (Graph.Node.value.frame, relative to
# ReadReply.firstFrame).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");
using M = import "model.capnp";

enum ReaderMethod {
  read @0;
  writeIr @1;   # WriteIrRequest → WriteIrReply: the IR writer (`loom convert`)
}

enum ModelFormat {
  auto @0;
  ir @1;
  onnx @2;
}

struct ReadRequest {
  source :union {
    path @0 :Text;          # a path the reader's host can open
    bytes @1 :UInt32;       # side frame holding the model (ONNX protobuf or IR XML)
  }
  weightsFrame @2 :UInt32;  # IR weights (.bin) when source is bytes and hasWeights
  hasWeights @3 :Bool;
  format @4 :ModelFormat;
}

struct ReadReply {
  model @0 :M.Graph;
  firstFrame @1 :UInt32;    # index of the first constant's frame
  readMicros @2 :UInt64;    # time the reader spent (parse, convert, validate)
}

struct WriteIrRequest {
  model @0 :M.Graph;
  firstFrame @1 :UInt32;
  xmlPath @2 :Text;         # written on the reader's host, with the .bin beside it
}

struct WriteIrReply {
  xmlPath @0 :Text;
  binPath @1 :Text;
  binBytes @2 :UInt64;
}
