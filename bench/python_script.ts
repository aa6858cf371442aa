/**
 * Running the bench's optional Python references (Pillow + torchvision, the PyTorch peer,
 * `torch.onnx.export`) with Debian's `/usr/bin/python3`: a missing interpreter or a missing module
 * is a reason to skip the measure, named with the Debian package that provides it; any other
 * failure is reported with the script's last line of stderr. clipbench itself never runs Python.
 *
 * @module
 */

import { basename } from "node:path";

/** The Python interpreter used (Debian's, where Pillow, torch and torchvision are packaged). */
export const PYTHON = "/usr/bin/python3";

/** A module a script imports: how to name it, and the Debian package that installs it. */
export interface PythonModule {
  /** The name in messages (e.g. `Pillow`). */
  readonly name: string;
  /** The Debian package (e.g. `python3-pil`). */
  readonly package: string;
}

/**
 * Runs `script` with `args`.
 *
 * @param modules The modules it needs, by import name (`PIL`, `torch`, …), checked in order
 *   against a failed run's "No module named" message.
 * @returns The script's stdout, or why the measure is skipped.
 */
export async function runPythonScript(
  script: string,
  args: readonly string[],
  modules: Readonly<Record<string, PythonModule>>,
): Promise<{ stdout: string } | { skipped: string }> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(PYTHON, {
      args: [script, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { skipped: `${PYTHON} not found` };
    throw error;
  }
  const text = new TextDecoder();
  if (output.success) return { stdout: text.decode(output.stdout) };
  const stderr = text.decode(output.stderr).trim();
  for (const [module, { name, package: debian }] of Object.entries(modules)) {
    if (new RegExp(`No module named '?${module}\\b`).test(stderr)) {
      return { skipped: `${name} is not installed for ${PYTHON} (apt-get install ${debian})` };
    }
  }
  return { skipped: `${basename(script)} failed: ${stderr.split("\n").slice(-1)[0]}` };
}
