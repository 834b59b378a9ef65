@0x8014b44235c66903;
# The extension loader's protocol (DESIGN.md §4-§6).
#
# Service "extensions": the extension libraries of a process. The one in the deployment's main
# process (the `extensions` component) also coordinates: a change goes to every other process
# hosting components (their loaders answer as companions at each component's endpoint, called
# with localOnly), and is rolled back there if it fails anywhere.
#
# Service "extension-host": one extension library hosted in a process of its own
# (`loom serve --extension LIB`); a process loading it by endpoint runs its ops over the bus.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");
using M = import "model.capnp";
using T = import "tensor.capnp";

enum ExtensionMethod {
  load @0;     # ExtensionLoadRequest -> ExtensionInfo
  unload @1;   # ExtensionUnloadRequest -> nothing
  swap @2;     # ExtensionSwapRequest -> ExtensionInfo
  list @3;     # nothing -> ExtensionList
  sync @4;     # ExtensionSyncRequest -> nothing: loads this process's extensions into another process
}

struct ExtensionLoadRequest {
  source @0 :Text;      # a library path (on the loader's host), or ipc:// / tcp:// of a host
  localOnly @1 :Bool;   # this process only (from a coordinator)
}

struct ExtensionUnloadRequest {
  name @0 :Text;
  localOnly @1 :Bool;
}

struct ExtensionSwapRequest {
  name @0 :Text;        # the loaded extension to replace
  source @1 :Text;
  localOnly @2 :Bool;
}

struct ExtensionSyncRequest {
  endpoint @0 :Text;    # a component's endpoint; its process gets every loaded extension
}

struct ExtensionInfo {
  name @0 :Text;
  version @1 :Text;
  source @2 :Text;
  ops @3 :List(Text);          # "Type@domain"
  conversions @4 :List(Text);  # "framework:domain:Type"
  processes @5 :UInt32;        # processes it was installed in (coordinator replies)
}

struct ExtensionList {
  extensions @0 :List(ExtensionInfo);
}

enum ExtensionHostMethod {
  describe @0;   # nothing -> HostedExtension
  infer @1;      # OpCall -> OpCall (the graph with the op's outputs typed)
  evaluate @2;   # OpCall (inputs as Constants) -> EvaluateReply
}

enum AttrKind {
  bool @0;
  int @1;
  float @2;
  string @3;
  ints @4;
  floats @5;
  strings @6;
  type @7;
  dims @8;
}

struct AttrSpec {
  name @0 :Text;
  kind @1 :AttrKind;
  required @2 :Bool;
}

struct HostedOp {
  type @0 :Text;
  domain @1 :Text;
  attrs @2 :List(AttrSpec);
  minInputs @3 :UInt32;
  maxInputs @4 :UInt32;   # 0xFFFFFFFF: any number
}

struct HostedExtension {
  name @0 :Text;
  version @1 :Text;
  ops @2 :List(HostedOp);
}

# A one-node model: Parameters (or Constants holding the input values) → the op → Results.
struct OpCall {
  model @0 :M.Graph;
  firstFrame @1 :UInt32;
}

struct EvaluateReply {
  outputs @0 :List(T.TensorDesc);
}
