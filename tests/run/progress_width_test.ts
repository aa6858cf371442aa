// deno-lint-ignore-file no-regex-spaces -- output lines separate their parts by two spaces
/**
 * Progress lines that fit the terminal, no early ETA, the true total at the end, and the records a
 * `--shards` worker writes (src/run/progress.ts).
 */
import assert from "node:assert/strict";
import {
  fitProgressLine,
  parseProgressRecord,
  PROGRESS_RECORD_PREFIX,
  ProgressReporter,
} from "../../src/run/progress.ts";

function reporter(options: { interactive: boolean; columns?: number; records?: boolean }) {
  let clock = 0;
  const written: string[] = [];
  const progress = new ProgressReporter(
    "a-rather-long-model-name / vtab_dsprites_label_orientation",
    {
      ...options,
      lineIntervalSeconds: 10,
      write: (text) => written.push(text),
      now: () => clock,
    },
  );
  return { progress, written, tick: (ms: number) => (clock += ms) };
}

/** The lines a terminal would show: split at carriage returns and newlines, escapes removed. */
function screenLines(written: readonly string[]): string[] {
  return written.join("").replaceAll("\x1b[2K", "").split(/[\r\n]/).filter((l) => l !== "");
}

Deno.test("fitProgressLine: narrows the bar, drops parts by rank, then shortens the label", () => {
  const parts = [
    { bar: 0.5, drop: 4 },
    { text: "500/1000 samples" },
    { text: "12.5/s", drop: 3 },
    { text: "elapsed 0:40", drop: 1 },
  ];
  const wide = fitProgressLine("m / d", parts, 120);
  assert.equal(
    wide,
    `m / d  [${"#".repeat(12)}${".".repeat(12)}]  500/1000 samples  12.5/s  elapsed 0:40`,
  );
  for (const columns of [80, 60, 40, 30, 20]) {
    const line = fitProgressLine("a-long-model-name / a-long-dataset-name", parts, columns);
    assert.ok(line.length < columns, `${columns}: ${line} (${line.length})`);
    assert.match(line, /500\/1000 samples/, "the counts are never dropped");
  }
  assert.match(fitProgressLine("m / d", parts, 50), /^m \/ d  \[#{5}\.{5}\]  500\/1000 samples/);
  assert.match(
    fitProgressLine("a-long-model-name / a-long-dataset-name", parts, 30),
    /…  500\/1000/,
  );
});

Deno.test("progress: every line fits the width, bar or plain", () => {
  for (const interactive of [true, false]) {
    for (const columns of [80, 50]) {
      const { progress, written, tick } = reporter({ interactive, columns });
      for (let i = 1; i <= 40; i++) {
        tick(11_000);
        progress.update({ samples: i * 250, skipped: i, shard: i % 7, nshards: 7, total: 10_000 });
      }
      progress.finish();
      const lines = screenLines(written);
      assert.ok(lines.length >= 40);
      for (const line of lines) assert.ok(line.length < columns, `${columns}: ${line}`);
    }
  }
  // Without a width, a plain (non-terminal) line fits 80 columns.
  const { progress, written } = reporter({ interactive: false });
  progress.update({ samples: 123_456, skipped: 7, total: 1_000_000, shard: 3, nshards: 100 });
  assert.ok(screenLines(written).every((line) => line.length < 80), written.join(""));
});

Deno.test("progress: no ETA before 5 s and 2 % of the samples", () => {
  const { progress, tick } = reporter({ interactive: true, columns: 200 });
  tick(4000);
  assert.doesNotMatch(progress.describe({ samples: 500, skipped: 0, total: 1000 }), /ETA/);
  tick(1000);
  assert.doesNotMatch(progress.describe({ samples: 10, skipped: 0, total: 1000 }), /ETA/, "1 %");
  assert.match(progress.describe({ samples: 20, skipped: 0, total: 1000 }), /ETA 4:05/);
});

Deno.test("progress: the last line gives the samples actually read", () => {
  // An estimated total (from the first shard) that the end proves wrong.
  const estimated = reporter({ interactive: true, columns: 200 });
  estimated.tick(1000);
  estimated.progress.update({ samples: 100, skipped: 0, shard: 0, nshards: 3 });
  estimated.progress.update({ samples: 101, skipped: 0, shard: 1, nshards: 3 });
  assert.match(
    estimated.progress.describe({ samples: 101, skipped: 0, shard: 1, nshards: 3 }),
    /101\/~300/,
  );
  estimated.progress.update({ samples: 230, skipped: 0, shard: 2, nshards: 3 });
  estimated.progress.finish();
  const last = screenLines(estimated.written).at(-1)!;
  assert.match(last, /  230 samples  /);
  assert.doesNotMatch(last, /~|ETA|\[/);
  // An exact total reached: a full bar and n/n.
  const exact = reporter({ interactive: true, columns: 200 });
  exact.tick(1000);
  exact.progress.update({ samples: 64, skipped: 0, total: 64, shard: 0, nshards: 1 });
  exact.progress.finish();
  assert.match(screenLines(exact.written).at(-1)!, /\[#{24}\]  64\/64 samples/);
});

Deno.test("progress records: a worker writes records, not lines, even when quiet", () => {
  let clock = 0;
  const written: string[] = [];
  const progress = new ProgressReporter("m / d", {
    interactive: false,
    quiet: true,
    records: true,
    write: (text) => written.push(text),
    now: () => clock,
  });
  progress.update({ samples: 10, skipped: 1 });
  clock += 100;
  progress.update({ samples: 20, skipped: 1 }); // within 250 ms: not written
  clock += 300;
  progress.update({ samples: 30, skipped: 2 });
  progress.finish();
  assert.equal(written.length, 3);
  assert.ok(
    written.every((line) => line.startsWith(PROGRESS_RECORD_PREFIX) && line.endsWith("\n")),
  );
  assert.deepEqual(written.map((line) => parseProgressRecord(line.trimEnd())), [
    { label: "m / d", samples: 10, skipped: 1, done: false },
    { label: "m / d", samples: 30, skipped: 2, done: false },
    { label: "m / d", samples: 30, skipped: 2, done: true },
  ]);
  assert.equal(parseProgressRecord("clipbench: an ordinary line"), undefined);
  assert.equal(parseProgressRecord(`${PROGRESS_RECORD_PREFIX}{"label": 3}`), undefined);
});
