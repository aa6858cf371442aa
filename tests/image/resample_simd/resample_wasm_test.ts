/**
 * The committed kernels module (src/image/resample_simd/resample_wasm.ts) is exactly what
 * tools/build_resample_wasm.ts assembles from resample.wat, so the .wat is its true source.
 *
 * @module
 */

import assert from "node:assert/strict";
import { resampleWasmBytes } from "../../../src/image/resample_simd/kernels.ts";
import {
  assembleWat,
  generatedModuleSource,
  RESAMPLE_WASM_MODULE_URL,
  RESAMPLE_WAT_URL,
} from "../../../tools/build_resample_wasm.ts";

Deno.test("re-assembling resample.wat gives exactly the committed module", async () => {
  const assembled = await assembleWat(await Deno.readTextFile(RESAMPLE_WAT_URL), "resample.wat");
  assert.deepEqual(resampleWasmBytes(), assembled);
  assert.equal(await Deno.readTextFile(RESAMPLE_WASM_MODULE_URL), generatedModuleSource(assembled));
});

Deno.test("the committed module validates and exports the kernels and their memory", () => {
  const module = new WebAssembly.Module(resampleWasmBytes());
  const exports = WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`).sort();
  assert.deepEqual(exports, ["function horizontalRgb", "function vertical", "memory memory"]);
  assert.deepEqual(WebAssembly.Module.imports(module), []);
});

Deno.test("assembling reports malformed text", async () => {
  await assert.rejects(() => assembleWat("(module (func (i32.bogus)))", "bad.wat"));
});
