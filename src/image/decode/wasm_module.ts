/**
 * Loading WebAssembly binaries that npm packages ship next to their JavaScript.
 *
 * The file is found with Node's module resolution from this module's location and read with
 * `Deno.readFile`, which works under `deno run`, inside Web Workers and in a `deno compile`d
 * binary (whose embedded `node_modules` is readable through the same paths). Nothing is
 * fetched over the network and nothing is cached here: callers keep the compiled module.
 *
 * @module
 */

import { createRequire } from "node:module";

/**
 * Reads and compiles a `.wasm` file from an installed npm package.
 *
 * @param specifier Package-relative path, e.g. `"@cwasm/jpeg-turbo/jpeg-turbo.wasm"`.
 * @returns The compiled module, ready to be instantiated (possibly several times).
 * @throws Error when the package file cannot be resolved, read or compiled (an installation
 *   problem, not a property of any image).
 */
export async function compilePackageWasm(specifier: string): Promise<WebAssembly.Module> {
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve(specifier);
  } catch (cause) {
    throw new Error(`cannot locate ${specifier}: is the npm package installed?`, { cause });
  }
  const bytes = await Deno.readFile(path);
  return await WebAssembly.compile(bytes);
}
