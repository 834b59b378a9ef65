@0xc41f0e2a7b9d3e51;
# A model graph on the bus (DESIGN.md §3, §5): nodes in topological order, inputs as
# (node index, port); constant data never inside the message — each Constant's TensorDesc
# points at a side frame of the envelope (zero-copy in process, shared memory over ipc).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");
using T = import "tensor.capnp";

struct Dim {
  min @0 :Int64;
  max @1 :Int64;     # -1: unbounded
}

struct PartialShape {
  dynamicRank @0 :Bool;
  dims @1 :List(Dim);
}

struct AttrValue {
  union {
    bool @0 :Bool;
    int @1 :Int64;
    float @2 :Float64;
    string @3 :Text;
    ints @4 :List(Int64);
    floats @5 :List(Float64);
    strings @6 :List(Text);
    type @7 :T.ElementType;
    shape @8 :PartialShape;
  }
}

struct Attr {
  name @0 :Text;
  value @1 :AttrValue;
}

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

struct RtNode {
  tag @0 :Text;
  attributes @1 :List(KeyValue);
  children @2 :List(RtNode);
}

struct OutputInfo {
  type @0 :T.ElementType;
  shape @1 :PartialShape;
  names @2 :List(Text);
  rtInfo @3 :RtNode;
}

struct ValueRef {
  node @0 :UInt32;   # index into Graph.nodes (earlier than the consumer)
  port @1 :UInt32;
}

struct PortMap {
  externalPort @0 :Int64;
  bodyIndex @1 :Int64;
  present @2 :UInt8;  # bits: 1 axis, 2 start, 4 end, 8 stride, 16 partSize
  axis @3 :Int64;
  start @4 :Int64;
  end @5 :Int64;
  stride @6 :Int64;
  partSize @7 :Int64;
  purpose @8 :Text;
}

struct BackEdge {
  fromResult @0 :Int64;
  toParameter @1 :Int64;
}

struct Body {
  name @0 :Text;
  graph @1 :Graph;
  inputs @2 :List(PortMap);
  outputs @3 :List(PortMap);
  backEdges @4 :List(BackEdge);
}

struct Node {
  type @0 :Text;
  version @1 :Text;
  name @2 :Text;
  attrs @3 :List(Attr);
  inputs @4 :List(ValueRef);
  outputs @5 :List(OutputInfo);
  inputRtInfo @6 :List(RtNode);
  rtInfo @7 :RtNode;
  bodies @8 :List(Body);
  hasValue @9 :Bool;
  value @10 :T.TensorDesc;   # frame index relative to the model's first frame
}

struct Graph {
  name @0 :Text;
  nodes @1 :List(Node);
  parameters @2 :List(UInt32);
  results @3 :List(UInt32);
  sinks @4 :List(UInt32);
  rtInfo @5 :RtNode;
}
