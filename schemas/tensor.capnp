@0x8a3610b88e6891b8;
# Tensor descriptors that every schema carrying tensors reuses (DESIGN.md §3, §5).
# Tensor bytes never travel inside Cap'n Proto: a descriptor points at a side frame of the
# message (Envelope.frames), which the bus may carry as a ZeroMQ frame or in shared memory.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("loom::schema");

# Enumerants are only ever appended. `undefined` is first so an unset field never reads as f32.
enum ElementType {
  undefined @0;
  f32 @1;
  f16 @2;
  bf16 @3;
  f64 @4;
  i8 @5;
  u8 @6;
  i16 @7;
  u16 @8;
  i32 @9;
  u32 @10;
  i64 @11;
  u64 @12;
  boolean @13;
  string @14;   # frame holds a u32 length-prefixed sequence of UTF-8 strings
}

struct TensorDesc {
  elementType @0 :ElementType;
  shape @1 :List(Int64);    # dense row-major; -1 only where a partial shape is meant
  frame @2 :UInt32;         # index into Envelope.frames
  byteSize @3 :UInt64;      # bytes in the frame; checked against element type and shape
  name @4 :Text;
}

# A region of a shared-memory pool slot (pools are exchanged once per ipc connection).
struct ShmRef {
  pool @0 :UInt32;
  slot @1 :UInt32;
  offset @2 :UInt64;       # from the start of the slot
  length @3 :UInt64;
  generation @4 :UInt64;   # bumped by the owner on each use of the slot; checked by the receiver
}
