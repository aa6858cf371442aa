// deno-lint-ignore-file no-regex-spaces no-control-regex -- progress lines separate their parts by two spaces and redraw with escapes
/** The one combined progress line of `eval --shards` (src/run/shard_progress.ts). */
import assert from "node:assert/strict";
import { CombinedProgress } from "../../src/run/shard_progress.ts";

function combined(interactive: boolean) {
  let clock = 0;
  const written: string[] = [];
  const progress = new CombinedProgress({
    workers: 3,
    interactive,
    columns: 80,
    write: (text) => written.push(text),
    now: () => clock,
  });
  return { progress, written, tick: (ms: number) => (clock += ms) };
}

const record = (label: string, samples: number, done = false, skipped = 0) => ({
  label,
  samples,
  skipped,
  done,
});

Deno.test("combined progress: the workers' samples add up on one redrawn line", () => {
  const { progress, written, tick } = combined(true);
  progress.update(0, record("m / d", 10));
  tick(200);
  progress.update(1, record("m / d", 20));
  tick(200);
  progress.update(2, record("m / d", 30, false, 2));
  assert.match(
    progress.describe("m / d"),
    /^m \/ d  60 samples  150\.0\/s  0\/3 shards done  2 skipped/,
  );
  // Nothing but redraws of the one line until every worker has finished the pair.
  assert.ok(written.every((text) => text.startsWith("\r\x1b[2K") && !text.includes("\n")));
  tick(200);
  progress.update(0, record("m / d", 40, true));
  progress.update(1, record("m / d", 40, true));
  progress.update(2, record("m / d", 40, true, 2));
  assert.match(written.at(-1)!, /^\r\x1b\[2Km \/ d  120 samples  .*3\/3 shards done.*\n$/);
  // A worker's message goes above the line, which is redrawn after it.
  tick(200);
  progress.update(0, record("m / e", 5));
  written.length = 0;
  progress.message("[shard 1/3] a warning");
  assert.deepEqual(written.slice(0, 2), ["\r\x1b[2K", "[shard 1/3] a warning\n"]);
  assert.match(written[2], /^\r\x1b\[2Km \/ e  5 samples/);
  progress.finish();
  assert.ok(written.join("").endsWith("\n"));
});

Deno.test("combined progress: plain lines every interval; unfinished pairs shown at the end", () => {
  const { progress, written, tick } = combined(false);
  progress.update(0, record("m / d", 10));
  progress.update(1, record("m / d", 10));
  tick(11_000);
  progress.update(2, record("m / d", 10));
  assert.equal(written.length, 2);
  progress.update(0, record("m / d", 50, true)); // the others never finish (they failed)
  progress.finish();
  assert.equal(written.length, 3);
  assert.match(written[2], /^m \/ d  70 samples  .*1\/3 shards done/);
  assert.ok(written.every((line) => line.endsWith("\n") && line.length <= 80));
});
