@0xb2f7c41e9a3d6058;
# The device component's protocol (DESIGN.md §6): a device plugin hosted on the bus by
# plugins/sdk's device service, spoken by components/protocol on both sides. Compiled models and
# infer requests live in the device's process, belong to the client session that created them
# (Envelope.session, bound to the client's CURVE key) and are named by random handles; another
# session naming them gets notFound. Tensors travel as side frames (TensorDesc), models as Graphs.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");
using M = import "model.capnp";
using T = import "tensor.capnp";

enum DeviceMethod {
  describe @0;        # -> DeviceInfo
  getProperty @1;     # PropertyRequest -> PropertyValue
  setProperty @2;     # PropertyList -> nothing
  queryModel @3;      # ModelRequest -> QueryReply
  compileModel @4;    # ModelRequest -> CompiledInfo
  importModel @5;     # ImportRequest -> CompiledInfo
  exportModel @6;     # Handle -> ExportReply
  releaseModel @7;    # Handle -> nothing
  createRequest @8;   # Handle -> Handle
  releaseRequest @9;  # Handle -> nothing
  infer @10;          # InferRequest -> InferReply
  cancel @11;         # CancelRequest -> nothing
  queryState @12;     # Handle -> StateList
  setState @13;       # StateRequest -> nothing (empty tensor list entry: reset that variable)
  resetState @14;     # Handle -> nothing
  runtimeModel @15;   # Handle -> RuntimeModelReply
  modelProperty @16;  # PropertyRequest (handle) -> PropertyValue
  opCoverage @17;     # nothing -> OpCoverage
  openSession @18;    # SessionRequest -> SessionInfo
  renewSession @19;   # nothing (the session is Envelope.session) -> SessionInfo
  closeSession @20;   # nothing -> nothing: releases the session's objects, cancels its inferences
}

# Methods that create or name objects need a session; describe/getProperty/setProperty/
# queryModel/opCoverage do not.
struct SessionRequest {
  leaseMs @0 :UInt32;   # requested lease (0: the device's default); the device clamps it
}

struct SessionInfo {
  session @0 :UInt64;   # random, never 0
  leaseMs @1 :UInt32;   # granted: renew well within it (any request in the session renews it)
}

struct Property {
  name @0 :Text;
  value @1 :Text;
}

struct PropertyList {
  properties @0 :List(Property);
}

struct PropertyRequest {
  handle @0 :UInt64;  # compiled model (modelProperty only)
  name @1 :Text;
}

struct PropertyValue {
  value @0 :Text;
}

struct DeviceInfo {
  name @0 :Text;       # "REFERENCE"
  fullName @1 :Text;
  abiVersion @2 :UInt32;
}

struct ModelRequest {
  model @0 :M.Graph;
  firstFrame @1 :UInt32;
  properties @2 :List(Property);
}

struct QueryReply {
  supported @0 :List(Text);  # node names
}

struct Port {
  name @0 :Text;
  names @1 :List(Text);
  elementType @2 :T.ElementType;
  shape @3 :Text;            # partial shape, OpenVINO spelling
}

struct CompiledInfo {
  handle @0 :UInt64;
  inputs @1 :List(Port);
  outputs @2 :List(Port);
}

struct Handle {
  handle @0 :UInt64;
}

struct ImportRequest {
  blob @0 :UInt32;           # frame index
  properties @1 :List(Property);
}

struct ExportReply {
  blob @0 :UInt32;
}

struct InferRequest {
  request @0 :UInt64;
  inputs @1 :List(T.TensorDesc);   # one per model input, in port order
  profiling @2 :Bool;              # return per-node counters
  sequence @3 :UInt64;             # the client's number for this inference (0: unnumbered)
}

# Cancels inference `sequence` of a request, running or not yet arrived (a cancel may overtake
# its inference on the way); 0: whatever runs now.
struct CancelRequest {
  request @0 :UInt64;
  sequence @1 :UInt64;
}

struct NodeProfile {
  name @0 :Text;
  type @1 :Text;
  execType @2 :Text;
  status @3 :UInt8;                # 0 not run, 1 optimized out, 2 executed
  realTimeUs @4 :UInt64;
}

struct InferReply {
  outputs @0 :List(T.TensorDesc);  # one per model output, in port order
  profile @1 :List(NodeProfile);
}

struct State {
  name @0 :Text;
  value @1 :T.TensorDesc;
}

struct StateList {
  states @0 :List(State);
}

struct StateRequest {
  request @0 :UInt64;
  state @1 :State;
}

struct RuntimeModelReply {
  model @0 :M.Graph;
  firstFrame @1 :UInt32;
}

struct OpCoverage {
  types @0 :List(Text);      # "Type:version"
  supported @1 :List(Bool);
}
