import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import { prepareOutputFolder } from "../../src/io/output_folder.ts";

Deno.test("prepareOutputFolder creates nested folders and leaves no probe behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const folder = join(dir, "a", "b");
    await prepareOutputFolder(folder);
    assert.deepEqual([...Deno.readDirSync(folder)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepareOutputFolder names the flag and the folder that is a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "taken");
    await Deno.writeTextFile(file, "");
    await assert.rejects(
      prepareOutputFolder(join(file, "sub"), "--output-dir out"),
      (e: unknown) => e instanceof UsageError && e.message.startsWith("--output-dir out: "),
    );
    await assert.rejects(
      prepareOutputFolder(file, "--output x"),
      (e: unknown) => e instanceof UsageError && e.message.includes(`${file} is a file`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
