/**
 * The bytes that cross the network between a learner and its actors: a JSON header and
 * named typed arrays, in one buffer (no base64, no JSON of numbers):
 *
 *   "RFN1" | u32 header length | header JSON (utf-8) | padding to 8 | array bytes …
 *
 * The header lists each array as [name, dtype, byte offset, length]. Decoding checks every
 * bound, so a truncated or hostile message is a WireError, never a crash or a wrong read.
 */

const MAGIC = "RFN1";
const MAX_HEADER = 1 << 20;

export type WireArray = Float32Array | Int32Array | Uint8Array;
const DTYPES = { f32: Float32Array, i32: Int32Array, u8: Uint8Array } as const;
type DType = keyof typeof DTYPES;

/** A message that does not parse: counted and dropped by whoever reads it. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

export interface WireMessage {
  header: Record<string, unknown>;
  arrays: Record<string, WireArray>;
}

function dtypeOf(a: WireArray): DType {
  if (a instanceof Float32Array) return "f32";
  if (a instanceof Int32Array) return "i32";
  return "u8";
}

export function encodeMessage(header: Record<string, unknown>, arrays: Record<string, WireArray> = {}): Buffer {
  const index: [string, DType, number, number][] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    index.push([name, dtypeOf(a), offset, a.length]);
    offset += Math.ceil(a.byteLength / 8) * 8; // every array starts 8-aligned, so decoding can view it in place
  }
  const json = Buffer.from(JSON.stringify({ ...header, arrays: index }), "utf8");
  const start = Math.ceil((8 + json.length) / 8) * 8;
  const out = Buffer.alloc(start + offset);
  out.write(MAGIC, 0, "latin1");
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  for (const [name, , off] of index) {
    const a = arrays[name];
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, start + off);
  }
  return out;
}

export function decodeMessage(buf: Buffer): WireMessage {
  if (!Buffer.isBuffer(buf) || buf.length < 8 || buf.toString("latin1", 0, 4) !== MAGIC) throw new WireError("not a refinery message (bad magic)");
  const len = buf.readUInt32LE(4);
  if (len > MAX_HEADER || 8 + len > buf.length) throw new WireError(`header length ${len} exceeds the message (${buf.length} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(buf.toString("utf8", 8, 8 + len));
  } catch {
    throw new WireError("header is not JSON");
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) throw new WireError("header is not an object");
  const h = header as Record<string, unknown>;
  const index = h.arrays;
  delete h.arrays;
  if (!Array.isArray(index)) throw new WireError("header has no array index");
  const start = Math.ceil((8 + len) / 8) * 8;
  const arrays: Record<string, WireArray> = {};
  for (const entry of index) {
    if (!Array.isArray(entry) || entry.length !== 4) throw new WireError("bad array index entry");
    const [name, dtype, off, n] = entry as [unknown, unknown, unknown, unknown];
    if (typeof name !== "string" || typeof dtype !== "string" || !(dtype in DTYPES)) throw new WireError(`bad array ${String(name)} of type ${String(dtype)}`);
    const Ctor = DTYPES[dtype as DType];
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(n) || (off as number) < 0 || (n as number) < 0 || (off as number) % 8 !== 0) throw new WireError(`bad bounds of array ${name}`);
    const bytes = (n as number) * Ctor.BYTES_PER_ELEMENT;
    if (start + (off as number) + bytes > buf.length) throw new WireError(`array ${name} runs past the end of the message`);
    // A copy: the buffer may be pooled or reused by the client.
    const copy = new Uint8Array(bytes);
    copy.set(buf.subarray(start + (off as number), start + (off as number) + bytes));
    arrays[name] = new Ctor(copy.buffer);
  }
  return { header: h, arrays };
}
