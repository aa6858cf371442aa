/**
 * Output folders checked before any work: created with their parents, and probed with a write,
 * so that a folder that is a file, lies under a file or is not writable is a usage error up front
 * instead of a failure after an evaluation.
 *
 * @module
 */

import { join } from "node:path";
import { UsageError } from "../errors.ts";

/**
 * Creates `folder` (and its parents) and checks that a file can be written in it, so that an
 * output folder that is a file, lies under a file or is not writable is reported before any work.
 *
 * @param what How the folder is named in the message (e.g. `--output-dir outputs`).
 * @throws {UsageError} naming `what` and the folder.
 */
export async function prepareOutputFolder(
  folder: string,
  what: string = folder,
): Promise<void> {
  try {
    await Deno.mkdir(folder, { recursive: true });
  } catch (error) {
    const reason = error instanceof Deno.errors.AlreadyExists
      ? `${folder} is a file, not a folder`
      : `cannot create ${folder}: ${(error as Error).message}`;
    throw new UsageError(`${what}: ${reason}`, { cause: error });
  }
  const probe = join(folder, `.clipbench-write-check.${Deno.pid}.tmp`);
  try {
    await Deno.writeFile(probe, new Uint8Array(0));
  } catch (error) {
    throw new UsageError(`${what}: cannot write in ${folder}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  await Deno.remove(probe).catch(() => {});
}
