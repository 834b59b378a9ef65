@0xe59c12bc7c6c16a7;
# The kernel service (DESIGN.md §4): registry, lifecycle, discovery, health, swaps.
# The kernel knows components, never tensors or operations.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");

enum KernelMethod {
  register @0;     # RegisterRequest -> RegisterReply (a component dials in)
  heartbeat @1;    # HeartbeatRequest -> HeartbeatReply
  resolve @2;      # ResolveRequest -> Route
  list @3;         # ListRequest -> ComponentList
  swap @4;         # SwapRequest -> ComponentInfo (of the new instance)
  deregister @5;   # DeregisterRequest -> ComponentInfo
  start @6;        # ComponentSpec -> ComponentInfo
  stop @7;         # StopComponentRequest -> ComponentInfo
  instance @8;     # InstanceRequest -> ComponentInfo (also of retired instances)
  shutdown @9;     # ShutdownRequest -> ShutdownReply
  probe @10;       # ProbeRequest -> ProbeReply: publishes a `probe` event (subscriber sync)
}

enum ComponentState {
  starting @0;
  ready @1;
  draining @2;
  stopped @3;
  failed @4;
}

enum Placement {
  inProcess @0;      # loaded from a shared library into the kernel's process
  childProcess @1;   # `loom serve` child started and watched by the kernel
  remote @2;         # started elsewhere, dialled in and registered
}

struct ComponentSpec {
  name @0 :Text;
  library @1 :Text;             # component library (in-process or child process)
  placement @2 :Placement;
  endpoints @3 :List(Text);     # where it binds ({name}, {instance} expanded); empty = chosen
  startTimeoutMs @4 :UInt32;    # 0 = the kernel's default
  config @5 :Text;              # opaque component configuration (TOML) passed to its entry
}

struct ComponentInfo {
  name @0 :Text;
  kind @1 :Text;
  version @2 :Text;
  endpoints @3 :List(Text);   # most local first: inproc, ipc, tcp
  state @4 :ComponentState;
  epoch @5 :UInt64;         # route epoch this instance serves under
  instance @6 :UInt64;      # unique per started or registered instance
  placement @7 :Placement;
  pid @8 :Int32;
  lastError @9 :Text;
  cleanStop @10 :Bool;      # stopped after draining (vs failed): it started nothing unanswered
  routed @11 :Bool;         # this instance is the one resolve() returns
  host @12 :Text;           # host id of the process serving it (for "is ipc usable from here")
  serverKey @13 :Text;      # its CURVE public key (Z85) on tcp endpoints; empty: none
  inFlight @14 :UInt32;     # requests it was running at its last heartbeat (its load)
}

struct RegisterRequest {
  name @0 :Text;
  kind @1 :Text;
  version @2 :Text;
  endpoints @3 :List(Text);
  pid @4 :Int32;
  token @5 :UInt64;         # given to a child the kernel started; 0 for remote components
  host @6 :Text;
  replace @7 :Bool;         # a remote newcomer that replaces the serving instance (a swap)
  serverKey @8 :Text;       # its CURVE public key (Z85) on tcp endpoints; empty: none
}

struct RegisterReply {
  instance @0 :UInt64;
  heartbeatIntervalMs @1 :UInt32;
  liveness @2 :UInt32;
  epoch @3 :UInt64;
}

struct HeartbeatRequest {
  instance @0 :UInt64;
  state @1 :ComponentState;
  inFlight @2 :UInt32;
}

struct HeartbeatReply {
  known @0 :Bool;           # false: the kernel forgot this instance; register again
}

struct ResolveRequest { name @0 :Text; }

struct Route {
  name @0 :Text;
  endpoints @1 :List(Text);
  epoch @2 :UInt64;
  instance @3 :UInt64;
  host @4 :Text;
  serverKey @5 :Text;       # the CURVE public key to use on its tcp endpoints; empty: none
}

struct ListRequest {}
struct ComponentList { components @0 :List(ComponentInfo); }

struct SwapRequest {
  name @0 :Text;
  replacement @1 :ComponentSpec;
}

struct DeregisterRequest { instance @0 :UInt64; }
struct StopComponentRequest { name @0 :Text; }
struct InstanceRequest {
  instance @0 :UInt64;
  waitTerminalMs @1 :UInt32;   # wait up to this long for the instance to be stopped or failed
}
struct ProbeRequest { topic @0 :Text; }
struct ProbeReply {}
struct ShutdownRequest {}
struct ShutdownReply {}

enum EventKind {
  registered @0;
  ready @1;
  failed @2;
  swapped @3;
  draining @4;
  stopped @5;
  probe @6;
}

# Published on the kernel's PUB socket; topic = "component/<name>".
struct Event {
  kind @0 :EventKind;
  component @1 :ComponentInfo;
  previousInstance @2 :UInt64;    # for `swapped`
  sequence @3 :UInt64;
}
