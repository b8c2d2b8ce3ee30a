import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { crc32c, maskedCrc32c } from "../../src/train/loggers/crc32c.js";
import { CsvSink, parseCsv } from "../../src/train/loggers/csv.js";
import { decodeEvent, encodeEvent, eventFiles, frameRecord, readEventFile, readRecords, TensorBoardSink } from "../../src/train/loggers/tensorboard.js";
import { parseLogFormats } from "../../src/train/logger.js";

const root = mkdtempSync(join(tmpdir(), "refinery-loggers-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

describe("crc32c", () => {
  it("matches the CRC-32C check value and the test vectors of RFC 3720", () => {
    expect(crc32c(bytes("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("masks as TFRecord does: rotate right 15, add 0xa282ead8", () => {
    const c = crc32c(bytes("abc"));
    expect(maskedCrc32c(bytes("abc"))).toBe(((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });
});

/** Parses a TFRecord file by hand (not with the reader under test): lengths and both CRCs. */
function parseFrames(buf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < buf.length) {
    const len = Number(buf.readBigUInt64LE(at));
    expect(buf.readUInt32LE(at + 8)).toBe(maskedCrc32c(buf.subarray(at, at + 8)));
    const data = buf.subarray(at + 12, at + 12 + len);
    expect(data.length).toBe(len);
    expect(buf.readUInt32LE(at + 12 + len)).toBe(maskedCrc32c(data));
    out.push(new Uint8Array(data));
    at += 12 + len + 4;
  }
  expect(at).toBe(buf.length);
  return out;
}

describe("TensorBoard event files", () => {
  it("encodes Event protos with TensorFlow's field numbers", () => {
    // Hand-assembled wire bytes: step=7 (field 2 varint), summary (field 5) { value (field 1) { tag (1) = "a", simple_value (2, float) = 0 } }.
    const e = encodeEvent({ wallTime: 0, step: 7, scalars: [{ tag: "a", value: 0 }] });
    expect(Buffer.from(e).toString("hex")).toBe("1007" + "2a0a" + "0a08" + "0a0161" + "1500000000");
    const v = encodeEvent({ wallTime: 1.5, step: 0, fileVersion: "brain.Event:2" });
    expect(Buffer.from(v).toString("hex")).toBe("09000000000000f83f" + "1a0d" + Buffer.from("brain.Event:2").toString("hex"));
    expect(decodeEvent(e)).toEqual({ wallTime: 0, step: 7, scalars: [{ tag: "a", value: 0 }] });
  });

  it("writes the version event first, then one event per row, framed with valid CRCs", () => {
    const dir = join(root, "tb1");
    const sink = new TensorBoardSink(dir);
    sink.write({ kind: "train", iteration: 1, step: 64, episodeReturnMean: 21.5, loss: null, sps: 1000 });
    sink.write({ kind: "eval", iteration: 1, step: 64, evalReturnMean: 30 });
    sink.close();
    const files = eventFiles(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/events\.out\.tfevents\.\d{10}\.[^/]+$/);
    const events = parseFrames(readFileSync(files[0])).map(decodeEvent);
    expect(events[0].fileVersion).toBe("brain.Event:2");
    expect(events[1].step).toBe(64);
    expect(events[1].scalars).toEqual([
      { tag: "train/episodeReturnMean", value: 21.5 },
      { tag: "train/sps", value: 1000 },
    ]);
    expect(events[2].scalars).toEqual([{ tag: "eval/evalReturnMean", value: 30 }]);
    expect(Math.abs(events[1].wallTime - Date.now() / 1000)).toBeLessThan(600);
  });

  it("reports a corrupted record, and ends the list at a record cut short", () => {
    const good = Buffer.concat([frameRecord(bytes("one")), frameRecord(bytes("two"))]);
    expect(readRecords(good).map((r) => Buffer.from(r).toString())).toEqual(["one", "two"]);
    expect(readRecords(good.subarray(0, good.length - 3)).map((r) => Buffer.from(r).toString())).toEqual(["one"]);
    const bad = Buffer.from(good);
    bad[13] ^= 1;
    expect(() => readRecords(bad)).toThrow(/CRC/);
  });

  it("on resume starts a new file and drops the earlier file's events past the resume step", () => {
    const dir = join(root, "tb2");
    const first = new TensorBoardSink(dir);
    for (let i = 1; i <= 5; i++) first.write({ kind: "train", iteration: i, step: i * 10, x: i });
    first.close();
    // A kill mid-write leaves half a record at the end.
    appendFileSync(first.path, frameRecord(encodeEvent({ wallTime: 1, step: 60, scalars: [{ tag: "train/x", value: 6 }] })).subarray(0, 20));
    const second = new TensorBoardSink(dir, { resumeStep: 30 });
    for (let i = 4; i <= 6; i++) second.write({ kind: "train", iteration: i, step: i * 10, x: i * 100 });
    second.close();
    const files = eventFiles(dir);
    expect(files).toHaveLength(2);
    expect(files[1]).toBe(second.path);
    const points = files.flatMap((f) => readEventFile(f)).flatMap((e) => (e.scalars ?? []).map((s) => [e.step, s.value]));
    expect(points).toEqual([
      [10, 1],
      [20, 2],
      [30, 3],
      [40, 400],
      [50, 500],
      [60, 600],
    ]);
  });

  it("backfills earlier rows when a run turns TensorBoard on at resume", () => {
    const dir = join(root, "tb3");
    const sink = new TensorBoardSink(dir, { resumeStep: 20, earlierRows: () => [{ kind: "train", iteration: 1, step: 10, x: 1 }, { kind: "train", iteration: 2, step: 20, x: 2 }] });
    sink.write({ kind: "train", iteration: 3, step: 30, x: 3 });
    sink.close();
    expect(readEventFile(sink.path).flatMap((e) => (e.scalars ?? []).map(() => e.step))).toEqual([10, 20, 30]);
  });
});

describe("progress.csv", () => {
  it("appends rows, and rewrites the file whole with the wider header when a key appears", () => {
    const path = join(root, "progress.csv");
    const rows: Record<string, unknown>[] = [];
    const sink = new CsvSink(path, () => rows);
    const add = (r: Record<string, unknown>) => {
      rows.push(r);
      sink.write(r);
    };
    expect(readFileSync(path, "utf8")).toBe("kind,iteration,step\n");
    add({ kind: "train", iteration: 1, step: 64, a: 1.5, b: null });
    add({ kind: "train", iteration: 2, step: 128, a: 2, b: 3 });
    expect(readFileSync(path, "utf8")).toBe("kind,iteration,step,a,b\ntrain,1,64,1.5,\ntrain,2,128,2,3\n");
    add({ kind: "eval", iteration: 2, step: 128, "custom/x,y": 'q"' as unknown as number });
    const table = parseCsv(readFileSync(path, "utf8"));
    expect(table[0]).toEqual(["kind", "iteration", "step", "a", "b", "custom/x,y"]);
    expect(table.slice(1)).toEqual([
      ["train", "1", "64", "1.5", "", ""],
      ["train", "2", "128", "2", "3", ""],
      ["eval", "2", "128", "", "", 'q"'],
    ]);
    // No temp file is left beside it.
    expect(readdirSync(root).filter((n) => n.includes("progress.csv.tmp"))).toEqual([]);
    add({ kind: "train", iteration: 3, step: 192, a: 3 });
    expect(parseCsv(readFileSync(path, "utf8")).at(-1)).toEqual(["train", "3", "192", "3", "", ""]);
  });

  it("starts from the rows the run already has (resume)", () => {
    const path = join(root, "resumed.csv");
    writeFileSync(path, "stale\n");
    const sink = new CsvSink(path, () => [{ kind: "train", iteration: 1, step: 5, r: 1 }]);
    sink.close();
    expect(readFileSync(path, "utf8")).toBe("kind,iteration,step,r\ntrain,1,5,1\n");
  });
});

describe("--log", () => {
  it("reads comma-separated formats and names an unknown one", () => {
    expect(parseLogFormats("tensorboard,csv")).toEqual(["tensorboard", "csv"]);
    expect(parseLogFormats(" csv ")).toEqual(["csv"]);
    expect(() => parseLogFormats("tensorbord")).toThrow(/unknown log format "tensorbord".*Fix: use tensorboard, csv/);
  });
});
