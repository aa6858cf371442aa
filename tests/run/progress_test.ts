import assert from "node:assert/strict";
import { ProgressReporter } from "../../src/run/progress.ts";

function reporter(interactive: boolean) {
  let clock = 0;
  const written: string[] = [];
  const progress = new ProgressReporter("m / d", {
    interactive,
    lineIntervalSeconds: 10,
    columns: 120,
    write: (text) => written.push(text),
    now: () => clock,
  });
  return { progress, written, tick: (ms: number) => (clock += ms) };
}

Deno.test("progress: a known total gives a bar, rate and ETA", () => {
  const { progress, written, tick } = reporter(true);
  tick(5000);
  progress.update({ samples: 100, skipped: 2, total: 400 });
  assert.equal(written.length, 1);
  assert.ok(written[0].startsWith("\r\x1b[2K"), "the bar redraws its line");
  assert.ok(
    written[0].includes(
      "m / d  [######..................]  100/400 samples  20.0/s  ETA 0:15  2 skipped",
    ),
    written[0],
  );
  progress.finish();
  assert.equal(written.at(-1), "\n");
});

Deno.test("progress: without a total, the shards read so far estimate it", () => {
  const { progress, tick } = reporter(false);
  tick(1000);
  progress.update({ samples: 10, skipped: 0, shard: 0, nshards: 4 });
  assert.doesNotMatch(progress.describe({ samples: 10, skipped: 0, shard: 0, nshards: 4 }), /ETA/);
  progress.update({ samples: 50, skipped: 0, shard: 0, nshards: 4 });
  progress.update({ samples: 51, skipped: 0, shard: 1, nshards: 4 }); // shard 0 held 50
  assert.match(
    progress.describe({ samples: 51, skipped: 0, shard: 1, nshards: 4 }),
    /51\/~200 samples .* shard 2\/4/,
  );
  // A limit below the estimate wins and is exact.
  assert.match(
    progress.describe({ samples: 51, skipped: 0, total: 120, shard: 1, nshards: 4 }),
    /51\/120 samples/,
  );
});

Deno.test("progress: plain lines at most every interval; quiet prints nothing", () => {
  const { progress, written, tick } = reporter(false);
  progress.update({ samples: 1, skipped: 0 });
  tick(5000);
  progress.update({ samples: 2, skipped: 0 });
  tick(6000);
  progress.update({ samples: 3, skipped: 0 });
  assert.equal(written.length, 2);
  assert.ok(written.every((line) => line.endsWith("\n") && !line.includes("\r")));
  const quiet: string[] = [];
  const silent = new ProgressReporter("x", {
    interactive: false,
    quiet: true,
    write: (t) => quiet.push(t),
  });
  silent.update({ samples: 1, skipped: 0 });
  silent.finish();
  assert.deepEqual(quiet, []);
});
