import assert from "node:assert/strict";
import type { ClipModel, LoadModelOptions } from "../../src/model/model.ts";
import { ModelCache } from "../../src/server/model_cache.ts";

/** A loader of stand-in models that counts loads and releases, each load taking `ms`. */
function fakeLoader(ms = 10, fail?: (dir: string) => boolean) {
  const log: string[] = [];
  const load = async (dir: string, options: LoadModelOptions) => {
    log.push(`load ${dir} ${options.dtype ?? "fp32"}`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (fail?.(dir)) throw new Error(`cannot load ${dir}`);
    return {
      dir,
      release: () => {
        log.push(`release ${dir} ${options.dtype ?? "fp32"}`);
        return Promise.resolve();
      },
    } as unknown as ClipModel;
  };
  return { load, log };
}

Deno.test("model cache: concurrent requests for one model share one load", async () => {
  const { load, log } = fakeLoader();
  const cache = new ModelCache({ load });
  const leases = await Promise.all([
    cache.acquire("/m/a", {}),
    cache.acquire("/m/a", {}),
    cache.acquire("/m/a", {}),
  ]);
  assert.equal(cache.loads, 1);
  assert.deepEqual(log, ["load /m/a fp32"]);
  assert.ok(leases.every((l) => l.model === leases[0].model));
  // One of the three started the load and the other two shared it; which one started it depends
  // on which Deno.realPath settled first, so the order is not asserted.
  assert.deepEqual(leases.map((l) => l.shared).sort(), [false, true, true]);
  // Other load options are another model.
  const fp16 = await cache.acquire("/m/a", { dtype: "fp16" });
  assert.notEqual(fp16.model, leases[0].model);
  assert.equal(cache.loads, 2);
  for (const lease of [...leases, fp16]) await lease.release();
  await cache.close();
  assert.deepEqual(log.slice(2).sort(), ["release /m/a fp16", "release /m/a fp32"]);
});

Deno.test("model cache: idle models beyond the capacity are released, least recent first", async () => {
  const { load, log } = fakeLoader(1);
  const cache = new ModelCache({ capacity: 2, load });
  const a = await cache.acquire("/m/a", {});
  const b = await cache.acquire("/m/b", {});
  await a.release();
  await b.release();
  const c = await cache.acquire("/m/c", {});
  assert.deepEqual(log, [
    "load /m/a fp32",
    "load /m/b fp32",
    "load /m/c fp32",
    "release /m/a fp32",
  ]);
  // A model in use is never released, even beyond the capacity.
  const b2 = await cache.acquire("/m/b", {});
  const d = await cache.acquire("/m/d", {});
  assert.equal(cache.size, 3);
  assert.ok(!log.includes("release /m/b fp32") && !log.includes("release /m/c fp32"));
  await b2.release();
  await d.release();
  await c.release();
  assert.equal(cache.size, 2);
  await cache.close();
  assert.equal(cache.loads, 4);
});

Deno.test("model cache: a failed load is not kept", async () => {
  let broken = true;
  const { load } = fakeLoader(1, () => broken);
  const cache = new ModelCache({ load });
  const attempts = await Promise.allSettled([cache.acquire("/m/x", {}), cache.acquire("/m/x", {})]);
  assert.deepEqual(attempts.map((a) => a.status), ["rejected", "rejected"]);
  // The second request shares the failing load, or — when the first load has already failed and
  // been dropped by the time its Deno.realPath settles — starts its own: timing decides, so only
  // the bound is asserted. What matters is that nothing failed is kept.
  const failedLoads = cache.loads;
  assert.ok(failedLoads === 1 || failedLoads === 2, `${failedLoads} loads`);
  assert.equal(cache.size, 0);
  broken = false;
  const lease = await cache.acquire("/m/x", {});
  assert.equal(cache.loads, failedLoads + 1);
  await lease.release();
  await lease.release(); // idempotent
  await cache.close();
  await assert.rejects(() => cache.acquire("/m/x", {}), /closed/);
  assert.throws(() => new ModelCache({ capacity: 0 }), /positive integer/);
});
