import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { atomicWriteFile } from "../fsutil.js";
import { maskedCrc32c } from "./crc32c.js";
import type { MetricSink } from "./sink.js";

/*
 * TensorBoard event files: a TFRecord stream of `Event` protocol buffers. Only the messages
 * and fields a scalar needs are declared here, with TensorFlow's field numbers
 * (tensorboard/compat/proto/event.proto and summary.proto); a reader with the full
 * definitions decodes them the same way. `simple_value` sits in a oneof as in the original,
 * so a value of 0 is still written (a reader asks which case of the oneof is set).
 */
const PROTO = `
syntax = "proto3";
package tensorboard;
message Summary {
  message Value {
    string tag = 1;
    oneof value { float simple_value = 2; }
  }
  repeated Value value = 1;
}
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const EventType = root.lookupType("tensorboard.Event");

export interface TbScalar {
  tag: string;
  value: number;
}

/** An Event as decoded by `readEventFile`. */
export interface TbEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars?: TbScalar[];
}

/** Serialises one Event message. */
export function encodeEvent(e: TbEvent): Uint8Array {
  const message: Record<string, unknown> = { wall_time: e.wallTime, step: e.step };
  if (e.fileVersion !== undefined) message.file_version = e.fileVersion;
  if (e.scalars) message.summary = { value: e.scalars.map((s) => ({ tag: s.tag, simple_value: s.value })) };
  return EventType.encode(EventType.fromObject(message)).finish();
}

export function decodeEvent(bytes: Uint8Array): TbEvent {
  const o = EventType.toObject(EventType.decode(bytes), { longs: Number, defaults: true, oneofs: true }) as {
    wall_time: number;
    step: number;
    file_version?: string;
    summary?: { value: { tag: string; simple_value?: number }[] };
  };
  const out: TbEvent = { wallTime: o.wall_time, step: o.step };
  if (o.file_version !== undefined) out.fileVersion = o.file_version;
  if (o.summary) out.scalars = o.summary.value.map((v) => ({ tag: v.tag, value: v.simple_value ?? NaN }));
  return out;
}

/** One TFRecord: length (uint64 LE), masked CRC32C of the length, data, masked CRC32C of the data. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/**
 * The records of a TFRecord file, with both CRCs checked. A record cut short at the end (a
 * process killed mid-write) ends the list; a CRC mismatch elsewhere is an error.
 */
export function readRecords(bytes: Uint8Array): Uint8Array[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 12 <= buf.length) {
    const length = Number(buf.readBigUInt64LE(at));
    if (buf.readUInt32LE(at + 8) !== maskedCrc32c(buf.subarray(at, at + 8))) throw new Error(`bad length CRC at byte ${at}`);
    if (at + 12 + length + 4 > buf.length) break;
    const data = buf.subarray(at + 12, at + 12 + length);
    if (buf.readUInt32LE(at + 12 + length) !== maskedCrc32c(data)) throw new Error(`bad data CRC at byte ${at + 12}`);
    out.push(new Uint8Array(data));
    at += 12 + length + 4;
  }
  return out;
}

export function readEventFile(path: string): TbEvent[] {
  return readRecords(readFileSync(path)).map(decodeEvent);
}

/** The event files of a directory in the order TensorBoard reads them (by name). */
export function eventFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith("events.out.tfevents."))
    .sort()
    .map((n) => join(dir, n));
}

/** The scalars of one metrics row: `<kind>/<key>` for every finite number but the row's place. */
export function scalarsOf(row: Record<string, unknown>): TbScalar[] {
  const kind = typeof row.kind === "string" ? row.kind : "train";
  const out: TbScalar[] = [];
  for (const [key, v] of Object.entries(row)) {
    if (key === "kind" || key === "iteration" || key === "step") continue;
    if (typeof v === "number" && Number.isFinite(v)) out.push({ tag: `${kind}/${key}`, value: v });
  }
  return out;
}

/**
 * Writes the metrics rows of a run as TensorBoard scalars in `dir`
 * (`events.out.tfevents.<time>.<host>`), step = env steps. Each process writes a new file:
 * on resume, the earlier files keep only the events up to the step the run resumes from
 * (the replayed iterations would otherwise appear twice), and when the run had no event
 * files yet, its earlier rows are written first.
 */
export class TensorBoardSink implements MetricSink {
  readonly path: string;
  private fd: number;

  constructor(
    readonly dir: string,
    opts: { resumeStep?: number; earlierRows?: () => Record<string, unknown>[] } = {},
  ) {
    mkdirSync(dir, { recursive: true });
    const earlier = eventFiles(dir);
    if (opts.resumeStep !== undefined) for (const file of earlier) truncateEventFile(file, opts.resumeStep);
    const base = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}`);
    let path = base;
    for (let i = 1; existsSync(path); i++) path = `${base}.${i}`;
    this.path = path;
    this.fd = openSync(path, "a");
    this.append({ wallTime: Date.now() / 1000, step: 0, fileVersion: "brain.Event:2" });
    if (!earlier.length && opts.earlierRows) for (const row of opts.earlierRows()) this.write(row);
  }

  write(row: Record<string, unknown>): void {
    const scalars = scalarsOf(row);
    if (!scalars.length) return;
    const step = typeof row.step === "number" ? Math.round(row.step) : 0;
    this.append({ wallTime: Date.now() / 1000, step, scalars });
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  private append(event: TbEvent): void {
    // One write per record, straight to the file: TensorBoard reads it while the run trains.
    writeSync(this.fd, frameRecord(encodeEvent(event)));
  }
}

/** Drops the summaries past `step` from an event file (atomically); the file header stays. */
function truncateEventFile(path: string, step: number): void {
  const bytes = readFileSync(path);
  let records: Uint8Array[];
  try {
    records = readRecords(bytes);
  } catch {
    return; // not ours to repair: TensorBoard reports a damaged file itself
  }
  const kept = records.filter((r) => {
    const e = decodeEvent(r);
    return !e.scalars || e.step <= step;
  });
  const keptBytes = Buffer.concat(kept.map(frameRecord));
  // Rewritten also when only a record cut short by a kill is dropped.
  if (keptBytes.length === bytes.length) return;
  atomicWriteFile(path, keptBytes);
}
