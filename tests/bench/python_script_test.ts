import assert from "node:assert/strict";
import { join } from "node:path";
import { PYTHON, runPythonScript } from "../../bench/python_script.ts";

const hasPython = await Deno.stat(PYTHON).then(() => true, () => false);

Deno.test("runPythonScript: stdout, a missing module named with its package, other failures", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = async (name: string, text: string) => {
      const path = join(dir, name);
      await Deno.writeTextFile(path, text);
      return path;
    };
    const modules = {
      torchvision: { name: "torchvision", package: "python3-torchvision" },
      clipbench_missing_module: { name: "Missing", package: "python3-missing" },
    };
    const ok = await runPythonScript(
      await script("ok.py", "import sys\nprint(sys.argv[1:])\n"),
      ["a", "b"],
      modules,
    );
    const missing = await runPythonScript(
      await script("missing.py", "import clipbench_missing_module\n"),
      [],
      modules,
    );
    const broken = await runPythonScript(
      await script("broken.py", "raise SystemExit('broken on purpose')\n"),
      [],
      modules,
    );
    if (!hasPython) {
      for (const run of [ok, missing, broken]) {
        assert.deepEqual(run, { skipped: `${PYTHON} not found` });
      }
      return;
    }
    assert.deepEqual(ok, { stdout: "['a', 'b']\n" });
    assert.deepEqual(missing, {
      skipped: `Missing is not installed for ${PYTHON} (apt-get install python3-missing)`,
    });
    assert.deepEqual(broken, { skipped: "broken.py failed: broken on purpose" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
