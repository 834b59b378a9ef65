@0xa39ab18874cbb1e7;
# The bus envelope: frame 0 of every multipart message on every transport (DESIGN.md §3).
# Enumerants and fields are only ever appended.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");

using Tensor = import "tensor.capnp";

enum ErrorKind {
  invalidArgument @0;   # the caller's input is bad
  notFound @1;          # no such service, method, component or object
  unsupported @2;       # understood but not implemented here
  unavailable @3;       # nobody serves this now; the request was not delivered
  disconnected @4;      # the peer died or went away while the request was in flight
  overloaded @5;        # refused for lack of capacity (queues, connections, slots)
  timeout @6;           # the deadline budget ran out
  cancelled @7;         # the caller or the service cancelled it
  unauthenticated @8;   # security handshake refused
  moved @9;             # the service lives elsewhere now (see movedTo / movedEpoch)
  internal @10;         # a bug or broken invariant on the serving side
  permissionDenied @11; # authenticated, but the caller's role may not do this
}

struct Error {
  kind @0 :ErrorKind;
  message @1 :Text;
  movedTo @2 :Text;        # for `moved`: the endpoint that serves the service now
  movedEpoch @3 :UInt64;   # for `moved`: the route epoch of that endpoint
}

# Where one side frame's bytes are: in a ZeroMQ frame of this message, or in a shared-memory slot.
struct FrameRef {
  union {
    socket @0 :UInt32;        # index of the ZeroMQ frame (1..n) that carries the bytes
    shm @1 :Tensor.ShmRef;    # slot of a pool exchanged over the ipc side socket
  }
}

struct Envelope {
  requestId @0 :UInt64;     # chosen by the client, echoed in the reply
  service @1 :Text;         # target service name ("$control" for the built-in control methods)
  method @2 :UInt16;        # the service's method enum value
  deadlineUs @3 :UInt64;    # relative budget in microseconds; 0 = no deadline
  epoch @4 :UInt64;         # route epoch the client resolved the service at (0 = unrouted)
  shmSession @5 :UInt64;    # sender's shared-memory session token (0 = none)
  frames @6 :List(FrameRef);  # the message's side frames, referenced by index from the payload
  body :union {
    payload @7 :AnyPointer;   # the method's request or reply struct
    error @8 :Error;          # replies only
  }
  # The caller's session with the service (0 = none): services that keep objects per client
  # (devices, DESIGN.md §6) check it, with the caller's authenticated key, on every request.
  session @9 :UInt64;
}

# Built-in methods every bus service answers under the service name "$control".
enum ControlMethod {
  ping @0;     # PingRequest -> ServiceStatus
  drain @1;    # DrainRequest -> ServiceStatus, answered once nothing is running
  stop @2;     # StopRequest -> ServiceStatus; the host stops after replying
}

enum ServiceState {
  serving @0;
  draining @1;    # answers new requests with `moved`, finishes the running ones
  drained @2;     # draining and nothing left running
}

struct PingRequest {}
struct StopRequest {}

struct DrainRequest {
  movedTo @0 :Text;       # endpoint new requests are redirected to
  movedEpoch @1 :UInt64;  # route epoch of that endpoint
}

struct ServiceStatus {
  name @0 :Text;
  version @1 :Text;
  instance @2 :UInt64;
  state @3 :ServiceState;
  inFlight @4 :UInt32;
  served @5 :UInt64;
  pid @6 :Int32;
}
