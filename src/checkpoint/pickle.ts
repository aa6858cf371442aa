/**
 * A restricted unpickler for the `data.pkl` that `torch.save` writes. It builds plain data
 * (numbers, strings, lists, dicts) and tensor descriptions, and NEVER calls anything: the only
 * globals it accepts are the tensor-rebuild functions, `collections.OrderedDict`, the storage
 * classes and dtypes, and each of them is interpreted here, not looked up. Any other global
 * (`posix system`, `builtins eval`, …) is a {@linkcode CheckpointError} naming it and the file, raised
 * when the GLOBAL opcode is read, before anything else happens.
 *
 * Opcodes supported (protocols 0–4 as torch writes them): PROTO, FRAME, STOP, MARK, POP, DUP,
 * EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3, BINPUT, LONG_BINPUT,
 * MEMOIZE, BINGET, LONG_BINGET, BININT, BININT1, BININT2, LONG1, LONG4, BINFLOAT, BINUNICODE,
 * SHORT_BINUNICODE, BINUNICODE8, BINSTRING, SHORT_BINSTRING, BINBYTES, SHORT_BINBYTES, NONE,
 * NEWTRUE, NEWFALSE, GLOBAL, STACK_GLOBAL, BINPERSID, REDUCE, BUILD (on an OrderedDict, whose
 * attributes are dropped), SETITEM, SETITEMS, APPEND, APPENDS. Any other opcode is an error naming
 * it and its byte offset.
 *
 * Calls understood: `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
 * requires_grad, backward_hooks[, metadata])`, `torch._utils._rebuild_tensor(storage, offset,
 * size, stride)`, `torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)`,
 * `torch._utils._rebuild_parameter_with_state(…)` and `collections.OrderedDict([pairs])`.
 * Persistent ids are `('storage', storage_type, key, location, numel)` with `storage_type` one of
 * `torch.FloatStorage`, `HalfStorage`, `BFloat16Storage`, `DoubleStorage`, `LongStorage`,
 * `IntStorage`, `ShortStorage`, `CharStorage`, `ByteStorage`, `BoolStorage`, or a dtype
 * (`torch.float32`, …).
 *
 * @module
 */

import { CheckpointError, type StoredDtype } from "./checkpoint.ts";

/** A global the allowlist accepts, by its `module.name`. */
export class PickleGlobal {
  /** Creates an instance. */
  constructor(
    /** The module, e.g. `torch._utils`. */
    readonly module: string,
    /** The name in it, e.g. `_rebuild_tensor_v2`. */
    readonly name: string,
  ) {}

  /** `module.name`. */
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A storage named by a persistent id: the archive entry `data/<key>` of `numel` elements. */
export interface StorageRef {
  /** Discriminant. */
  readonly kind: "storage";
  /** Its element type. */
  readonly dtype: StoredDtype;
  /** Its key (the entry name under `data/`). */
  readonly key: string;
  /** The device it was saved from (`cpu`, `cuda:0`). */
  readonly location: string;
  /** Its element count. */
  readonly numel: number;
}

/** A tensor: a strided view of a storage. */
export interface TensorRef {
  /** Discriminant. */
  readonly kind: "tensor";
  /** Its storage. */
  readonly storage: StorageRef;
  /** Offset of its first element in the storage, in elements. */
  readonly offset: number;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its strides, in elements. */
  readonly stride: readonly number[];
}

/** A value an unpickled torch file can hold. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | PickleGlobal
  | StorageRef
  | TensorRef;

const STORAGE_DTYPES: Readonly<Record<string, StoredDtype>> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

const TORCH_DTYPES: Readonly<Record<string, StoredDtype>> = {
  float32: "F32",
  float: "F32",
  float16: "F16",
  half: "F16",
  bfloat16: "BF16",
  float64: "F64",
  double: "F64",
  int64: "I64",
  long: "I64",
  int32: "I32",
  int: "I32",
  int16: "I16",
  short: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};

const CALLABLES = new Set([
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
  "collections.OrderedDict",
]);

/** Whether `module.name` is on the allowlist. */
function isAllowedGlobal(module: string, name: string): boolean {
  if (CALLABLES.has(`${module}.${name}`)) return true;
  return module === "torch" &&
    (Object.hasOwn(STORAGE_DTYPES, name) || Object.hasOwn(TORCH_DTYPES, name));
}

/** The element type a storage type (a storage class or a dtype global) stands for. */
function storageDtype(value: PickleValue): StoredDtype | undefined {
  if (!(value instanceof PickleGlobal) || value.module !== "torch") return undefined;
  return STORAGE_DTYPES[value.name] ?? TORCH_DTYPES[value.name];
}

const MARK = Symbol("mark");
type StackItem = PickleValue | typeof MARK;

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x49: "INT",
  0x4c: "LONG",
  0x46: "FLOAT",
  0x53: "STRING",
  0x56: "UNICODE",
  0x50: "PERSID",
  0x67: "GET",
  0x70: "PUT",
  0x64: "DICT",
  0x6c: "LIST",
  0x69: "INST",
  0x6f: "OBJ",
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x31: "POP_MARK",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

/**
 * Unpickles `bytes` (the `data.pkl` of the torch file `path`) under the allowlist.
 *
 * @throws CheckpointError naming `path` and the global, opcode or byte offset at fault.
 */
export function unpickleTorch(bytes: Uint8Array, path: string): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const latin1 = new TextDecoder("latin1");
  let at = 0;
  let opcodeAt = 0;

  const fail = (message: string): never => {
    throw new CheckpointError(`${path}: pickle byte ${opcodeAt}: ${message}`, { path });
  };
  const need = (count: number): number => {
    if (at + count > bytes.length) fail("truncated pickle");
    const start = at;
    at += count;
    return start;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const value = view.getBigUint64(need(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${value} out of range`);
    return Number(value);
  };
  const take = (count: number) => bytes.subarray(need(count), at);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail("truncated pickle (unterminated GLOBAL line)");
    const text = latin1.decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const text = (count: number): string => {
    const raw = take(count);
    try {
      return utf8.decode(raw);
    } catch {
      return fail("string is not valid UTF-8");
    }
  };
  const pop = (): PickleValue => {
    const value = stack.pop();
    if (value === undefined) fail("stack underflow");
    if (value === MARK) fail("unexpected MARK");
    return value as PickleValue;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail("stack underflow");
    const value = stack[stack.length - 1];
    if (value === MARK) fail("unexpected MARK");
    return value as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const mark = stack.lastIndexOf(MARK);
    if (mark < 0) fail("no MARK");
    const items = stack.splice(mark) as PickleValue[];
    items.shift();
    return items;
  };
  const global = (module: string, name: string): PickleGlobal => {
    if (!isAllowedGlobal(module, name)) {
      fail(
        `refused global "${module}.${name}" (only torch tensor-rebuild functions, storages, ` +
          `dtypes and collections.OrderedDict are allowed; nothing was executed)`,
      );
    }
    return new PickleGlobal(module, name);
  };
  const asDict = (value: PickleValue, opcode: string): Map<PickleValue, PickleValue> => {
    if (!(value instanceof Map)) fail(`${opcode} on a ${describe(value)}, not a dict`);
    return value as Map<PickleValue, PickleValue>;
  };
  const asList = (value: PickleValue, opcode: string): PickleValue[] => {
    if (!Array.isArray(value)) fail(`${opcode} on a ${describe(value)}, not a list`);
    return value as PickleValue[];
  };
  const intList = (value: PickleValue, what: string): number[] => {
    if (
      !Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)
    ) {
      fail(`${what} is not a tuple of non-negative integers`);
    }
    return value as number[];
  };
  const persistentLoad = (pid: PickleValue): StorageRef => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== "storage") {
      fail(`persistent id ${describe(pid)} is not ('storage', type, key, location, numel)`);
    }
    const [, type, key, location, numel] = pid as PickleValue[];
    const dtype = storageDtype(type);
    if (dtype === undefined) fail(`persistent id storage type ${describe(type)} is not a storage`);
    if (typeof key !== "string" || typeof location !== "string") {
      fail("persistent id key or location is not a string");
    }
    if (!Number.isSafeInteger(numel) || (numel as number) < 0) {
      fail("persistent id numel is not a non-negative integer");
    }
    return {
      kind: "storage",
      dtype: dtype!,
      key: key as string,
      location: location as string,
      numel: numel as number,
    };
  };
  const call = (callable: PickleValue, args: PickleValue): PickleValue => {
    if (!(callable instanceof PickleGlobal) || !CALLABLES.has(callable.qualifiedName)) {
      return fail(`REDUCE calls ${describe(callable)}, which is not callable here`);
    }
    if (!Array.isArray(args)) return fail(`REDUCE arguments are a ${describe(args)}, not a tuple`);
    const name = callable.qualifiedName;
    switch (name) {
      case "torch._utils._rebuild_tensor_v2":
      case "torch._utils._rebuild_tensor": {
        if (args.length < 4) fail(`${name} needs storage, offset, size, stride`);
        const [storage, offset, size, stride] = args;
        if (
          storage === null || typeof storage !== "object" ||
          (storage as { kind?: string }).kind !== "storage"
        ) {
          fail(`${name}: the first argument is a ${describe(storage)}, not a storage`);
        }
        if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
          fail(`${name}: storage offset is not a non-negative integer`);
        }
        const shape = intList(size, `${name}: size`);
        const strides = intList(stride, `${name}: stride`);
        if (shape.length !== strides.length) fail(`${name}: size and stride differ in length`);
        return {
          kind: "tensor",
          storage: storage as StorageRef,
          offset: offset as number,
          shape,
          stride: strides,
        };
      }
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state": {
        const data = args[0];
        if (
          data === null || typeof data !== "object" || (data as { kind?: string }).kind !== "tensor"
        ) {
          fail(`${name}: the first argument is a ${describe(data)}, not a tensor`);
        }
        return data;
      }
      case "collections.OrderedDict": {
        const dict = new Map<PickleValue, PickleValue>();
        if (args.length === 0) return dict;
        if (args.length !== 1 || !Array.isArray(args[0])) fail(`${name}: expects a list of pairs`);
        for (const pair of args[0] as PickleValue[]) {
          if (!Array.isArray(pair) || pair.length !== 2) fail(`${name}: expects a list of pairs`);
          dict.set((pair as PickleValue[])[0], (pair as PickleValue[])[1]);
        }
        return dict;
      }
    }
    return fail(`REDUCE calls ${name}, which is not callable here`);
  };

  for (;;) {
    opcodeAt = at;
    const opcode = u8();
    switch (opcode) {
      case 0x80: // PROTO
        if (u8() > 5) fail("pickle protocol newer than 5");
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} items on the stack`);
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) fail("stack underflow");
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const key = opcode === 0x68 ? u8() : u32();
        if (!memo.has(key)) fail(`memo ${key} is not set`);
        stack.push(memo.get(key)!);
        break;
      }
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const length = opcode === 0x8a ? u8() : u32();
        stack.push(littleEndianInteger(take(length)));
        break;
      }
      case 0x47: // BINFLOAT
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x63: { // GLOBAL
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          fail("STACK_GLOBAL needs two strings");
        }
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x52: { // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const target = top();
        if (!(target instanceof Map)) {
          fail(`BUILD on a ${describe(target)} (state ${describe(state)}) is not supported`);
        }
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        asDict(top(), "SETITEM").set(key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail("SETITEMS with an odd number of items");
        const dict = asDict(top(), "SETITEMS");
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        asList(top(), "APPEND").push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        asList(top(), "APPENDS").push(...items);
        break;
      }
      default: {
        const name = OPCODE_NAMES[opcode] ?? `0x${opcode.toString(16).padStart(2, "0")}`;
        fail(`unsupported pickle opcode ${name}`);
      }
    }
  }
}

/** A two's-complement little-endian integer, as a number when it is safe, else a bigint. */
function littleEndianInteger(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) value -= 1n << BigInt(8 * bytes.length);
  const small = Number(value);
  return Number.isSafeInteger(small) ? small : value;
}

/** A short description of a value's kind, for error messages. */
export function describe(value: PickleValue): string {
  if (value === null) return "None";
  if (Array.isArray(value)) return `tuple/list of ${value.length}`;
  if (value instanceof Map) return "dict";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof PickleGlobal) return `global ${value.qualifiedName}`;
  if (typeof value === "object") return value.kind;
  if (typeof value === "string") return `string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value;
}
