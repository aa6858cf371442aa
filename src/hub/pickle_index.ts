/**
 * ModelScope's cache index: the file `.msc` in each cached repository folder, a Python pickle of
 * a list of `{"Path": <file path>, "Revision": <commit id>}` dicts, one per cached file. The
 * ModelScope SDK reuses a cached file only if its key is in this list, so clipbench adds the
 * files it downloads, and reads the list the SDK wrote.
 *
 * Only what such a list needs is supported: lists, dicts, `str` and `None`, with the opcodes
 * `pickle.dump` emits for them in protocols 2 to 5 (memo puts and gets included). Anything else
 * (an index written by something else) is refused with an error, and the caller leaves the file
 * alone. Lists are written in protocol 2, which every Python 3 reads.
 *
 * @module
 */

/** One entry of the index (values are strings, or `null` for Python's `None`). */
export type CacheIndexEntry = Readonly<Record<string, string | null>>;

const OP = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e, // .
  MARK: 0x28, // (
  EMPTY_LIST: 0x5d, // ]
  EMPTY_DICT: 0x7d, // }
  APPEND: 0x61, // a
  APPENDS: 0x65, // e
  SETITEM: 0x73, // s
  SETITEMS: 0x75, // u
  NONE: 0x4e, // N
  BINUNICODE: 0x58, // X
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  MEMOIZE: 0x94,
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
} as const;

const MARK = Symbol("mark");
type Value = string | null | Value[] | Map<string, Value>;

/**
 * Reads an index pickle.
 *
 * @throws {Error} for a pickle that is not a list of str → str/None dicts in the supported
 *   opcodes (the message names the opcode and its offset).
 */
export function readCacheIndex(bytes: Uint8Array): CacheIndexEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const stack: (Value | typeof MARK)[] = [];
  const memo = new Map<number, Value>();
  let offset = 0;
  const need = (count: number) => {
    if (offset + count > bytes.length) throw new Error(`pickle truncated at byte ${offset}`);
  };
  const text = (length: number): string => {
    need(length);
    const value = decoder.decode(bytes.subarray(offset, offset + length));
    offset += length;
    return value;
  };
  const top = (): Value => {
    const value = stack[stack.length - 1];
    if (value === undefined || value === MARK) throw new Error(`pickle stack empty at ${offset}`);
    return value;
  };
  const popToMark = (): Value[] => {
    const index = stack.lastIndexOf(MARK);
    if (index < 0) throw new Error(`pickle has no mark at byte ${offset}`);
    const items = stack.splice(index) as Value[];
    return items.slice(1);
  };
  const setItems = (dict: Value, items: Value[]) => {
    if (!(dict instanceof Map)) throw new Error(`pickle sets items on a non-dict at ${offset}`);
    for (let i = 0; i + 1 < items.length; i += 2) {
      const key = items[i];
      if (typeof key !== "string") throw new Error(`pickle dict key is not a str at ${offset}`);
      dict.set(key, items[i + 1]);
    }
  };
  while (true) {
    need(1);
    const op = bytes[offset++];
    switch (op) {
      case OP.PROTO:
        need(1);
        offset += 1;
        break;
      case OP.FRAME:
        need(8);
        offset += 8;
        break;
      case OP.MARK:
        stack.push(MARK);
        break;
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map());
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.SHORT_BINUNICODE:
        need(1);
        stack.push(text(bytes[offset++]));
        break;
      case OP.BINUNICODE: {
        need(4);
        const length = view.getUint32(offset, true);
        offset += 4;
        stack.push(text(length));
        break;
      }
      case OP.BINUNICODE8: {
        need(8);
        const length = Number(view.getBigUint64(offset, true));
        offset += 8;
        stack.push(text(length));
        break;
      }
      case OP.APPEND: {
        const value = stack.pop() as Value;
        const list = top();
        if (!Array.isArray(list)) throw new Error(`pickle appends to a non-list at ${offset}`);
        list.push(value);
        break;
      }
      case OP.APPENDS: {
        const items = popToMark();
        const list = top();
        if (!Array.isArray(list)) throw new Error(`pickle appends to a non-list at ${offset}`);
        list.push(...items);
        break;
      }
      case OP.SETITEM: {
        const value = stack.pop() as Value;
        const key = stack.pop() as Value;
        setItems(top(), [key, value]);
        break;
      }
      case OP.SETITEMS: {
        const items = popToMark();
        setItems(top(), items);
        break;
      }
      case OP.BINPUT:
        need(1);
        memo.set(bytes[offset++], top());
        break;
      case OP.LONG_BINPUT:
        need(4);
        memo.set(view.getUint32(offset, true), top());
        offset += 4;
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
      case OP.LONG_BINGET: {
        const long = op === OP.LONG_BINGET;
        need(long ? 4 : 1);
        const key = long ? view.getUint32(offset, true) : bytes[offset];
        offset += long ? 4 : 1;
        if (!memo.has(key)) throw new Error(`pickle refers to unknown memo ${key} at ${offset}`);
        stack.push(memo.get(key)!);
        break;
      }
      case OP.STOP: {
        const result = top();
        if (!Array.isArray(result)) throw new Error("pickle does not hold a list");
        return result.map((item, index) => {
          if (!(item instanceof Map)) throw new Error(`pickle list item ${index} is not a dict`);
          const entry: Record<string, string | null> = {};
          for (const [key, value] of item) {
            if (value !== null && typeof value !== "string") {
              throw new Error(`pickle list item ${index} has a non-str value for ${key}`);
            }
            entry[key] = value;
          }
          return entry;
        });
      }
      default:
        throw new Error(`unsupported pickle opcode 0x${op.toString(16)} at byte ${offset - 1}`);
    }
  }
}

/** Writes an index as a protocol-2 pickle. */
export function writeCacheIndex(entries: readonly CacheIndexEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: number[] = [OP.PROTO, 2, OP.EMPTY_LIST];
  const pushText = (value: string) => {
    const utf8 = encoder.encode(value);
    const length = utf8.length;
    parts.push(
      OP.BINUNICODE,
      length & 0xff,
      (length >>> 8) & 0xff,
      (length >>> 16) & 0xff,
      length >>> 24,
    );
    for (const byte of utf8) parts.push(byte);
  };
  if (entries.length > 0) {
    parts.push(OP.MARK);
    for (const entry of entries) {
      parts.push(OP.EMPTY_DICT);
      const pairs = Object.entries(entry);
      if (pairs.length > 0) {
        parts.push(OP.MARK);
        for (const [key, value] of pairs) {
          pushText(key);
          if (value === null) parts.push(OP.NONE);
          else pushText(value);
        }
        parts.push(OP.SETITEMS);
      }
    }
    parts.push(OP.APPENDS);
  }
  parts.push(OP.STOP);
  return Uint8Array.from(parts);
}
