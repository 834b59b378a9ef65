@0xe61c3b9a07d4f285;
# The transform component's protocol (DESIGN.md §6): run a named pass pipeline on a model.
# Constants travel as side frames in both directions (see model.capnp).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");
using M = import "model.capnp";

enum TransformMethod {
  run @0;
  listPipelines @1;
}

struct TransformRequest {
  pipeline @0 :Text;
  model @1 :M.Graph;
  firstFrame @2 :UInt32;
}

struct PassReport {
  name @0 :Text;
  changed @1 :Bool;
  rewrites @2 :UInt64;
  nodesBefore @3 :UInt64;
  nodesAfter @4 :UInt64;
  micros @5 :UInt64;
}

struct TransformReply {
  model @0 :M.Graph;
  firstFrame @1 :UInt32;
  passes @2 :List(PassReport);
}

struct PipelineList {
  names @0 :List(Text);
}
