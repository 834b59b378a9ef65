@0x82f33349e24930bc;
# The pipeline-node method (DESIGN.md §6): what any component implements to be a `component`
# node of a pipeline — in this process, another process or another host. The pipeline asks for
# the node's interface once (describe) and then calls run once per request (per item, inside a
# demultiply), many calls in flight. Tensors travel as side frames, named by TensorDesc.name.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");
using T = import "tensor.capnp";
using P = import "plugin.capnp";

# Method ids of a pipeline-node component. Enumerants are only ever appended.
enum PipelineNodeMethod {
  describe @0;   # (no payload) → NodeInterface
  run @1;        # NodeTensors (every input, by name) → NodeTensors (every output, by name)
}

struct NodeInterface {
  inputs @0 :List(P.Port);
  outputs @1 :List(P.Port);
}

struct NodeTensors {
  tensors @0 :List(T.TensorDesc);
}
