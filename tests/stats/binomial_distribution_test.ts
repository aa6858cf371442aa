import assert from "node:assert/strict";
import {
  binomialLowerTail,
  binomialPmf,
  binomialUpperTail,
  stirlingError,
} from "../../src/stats/binomial_distribution.ts";
import { assertClose } from "./_vectors.ts";

/** C(n, k) p^k q^(n-k) with exact integer binomial coefficients (small n only). */
function directPmf(k: number, n: number, p: number): number {
  let coefficient = 1n;
  for (let i = 0; i < k; i++) coefficient = coefficient * BigInt(n - i) / BigInt(i + 1);
  return Number(coefficient) * p ** k * (1 - p) ** (n - k);
}

Deno.test("masses agree with the direct formula and sum to 1", () => {
  for (const n of [1, 2, 5, 17, 40]) {
    for (const p of [0.5, 0.1, 0.73]) {
      let total = 0;
      for (let k = 0; k <= n; k++) {
        const mass = binomialPmf(k, n, p);
        assertClose(mass, directPmf(k, n, p), `pmf(${k}; ${n}, ${p})`, 1e-13);
        total += mass;
      }
      assertClose(total, 1, `sum over n=${n}, p=${p}`, 1e-13);
    }
  }
  assert.equal(binomialPmf(-1, 5, 0.5), 0);
  assert.equal(binomialPmf(6, 5, 0.5), 0);
  // p = 1/2: exact powers of two.
  assert.equal(binomialPmf(0, 40, 0.5), 2 ** -40);
});

Deno.test("tails: P(X <= k) + P(X > k) = 1 at the mode", () => {
  for (const n of [10, 101, 1000]) {
    const mode = Math.floor((n + 1) / 2);
    assertClose(
      binomialLowerTail(mode, n, 0.5) + binomialUpperTail(mode, n, 0.5),
      1,
      `n=${n}`,
      1e-13,
    );
  }
  assert.throws(() => binomialLowerTail(9, 10, 0.5), RangeError);
  assert.throws(() => binomialUpperTail(1, 10, 0.5), RangeError);
});

Deno.test("the Stirling error matches its definition where the series takes over", () => {
  // log(16!) − (16.5 log 16 − 16 + ½ log 2π), from the exact factorial.
  const logFactorial16 = Math.log(20922789888000);
  const direct = logFactorial16 - 16.5 * Math.log(16) + 16 - 0.5 * Math.log(2 * Math.PI);
  assertClose(stirlingError(16), direct, "stirlingError(16)", 1e-12);
});
