import assert from "node:assert/strict";
import { splitTextLines } from "../../src/dataset/wds.ts";
import { UsageError } from "../../src/errors.ts";
import {
  promptOverridesFor,
  readClassnamesFile,
  readTemplatesFile,
} from "../../src/dataset/prompts.ts";

const dir = await Deno.makeTempDir();

async function write(name: string, text: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  return assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof UsageError, `UsageError expected, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("plain text: one entry a line, read like the dataset's own files, for every dataset", async () => {
  const text = "  a photo of a {c}.\r\nthe {c}\n\n{c}\u2028last  \n";
  const path = await write("templates.txt", text);
  const file = await readTemplatesFile(path);
  assert.equal(file.path, path);
  assert.deepEqual(file.forDataset("cars"), splitTextLines(text));
  assert.deepEqual(file.forDataset("cars"), ["a photo of a {c}.", "the {c}", "", "{c}", "last"]);
  assert.deepEqual(file.forDataset("anything/else"), file.forDataset("cars"));
  // Only the extension selects JSON: JSON-looking text in a .txt file is two plain lines.
  const names = await readClassnamesFile(await write("names.txt", '{"cars":\n["a"]}'));
  assert.deepEqual(names.forDataset("cars"), ['{"cars":', '["a"]}']);
});

Deno.test("JSON class names: keyed by dataset name, looked up by the name's last part", async () => {
  const path = await write(
    "names.JSON",
    '{"cars": ["sedan", "coupe"], "imagenet1k": ["tench"], "__proto__": ["p"]}',
  );
  const file = await readClassnamesFile(path);
  assert.deepEqual(file.forDataset("cars"), ["sedan", "coupe"]);
  assert.deepEqual(file.forDataset("wds/cars"), ["sedan", "coupe"]);
  assert.deepEqual(file.forDataset("__proto__"), ["p"]);
  // No fallback for class names (labels index into them), not even to imagenet1k.
  assert.throws(
    () => file.forDataset("pets"),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === `${path} has no class names for dataset "pets" ` +
          `(its entries: "cars", "imagenet1k", "__proto__")`,
  );
  assert.throws(() => file.forDataset("constructor"), /no class names for dataset "constructor"/);
});

Deno.test("JSON templates: lists, class → prompts objects, and the imagenet1k fallback", async () => {
  const cupl = {
    sedan: ["a four-door car.", "a sedan parked outside."],
    coupe: ["a two-door car."],
  };
  const path = await write(
    "templates.json",
    JSON.stringify({ imagenet1k: ["itap of a {c}."], cars: cupl, pets: ["a {c}, a pet."] }),
  );
  const file = await readTemplatesFile(path);
  assert.deepEqual(file.forDataset("pets"), ["a {c}, a pet."]);
  const cars = file.forDataset("cars");
  assert.ok(cars instanceof Map);
  assert.deepEqual(Object.fromEntries(cars), cupl);
  // CLIP_benchmark's default: a dataset without an entry gets imagenet1k's templates.
  assert.deepEqual(file.forDataset("flowers"), ["itap of a {c}."]);

  const noDefault = await readTemplatesFile(
    await write("few.json", JSON.stringify({ pets: ["{c}"] })),
  );
  assert.throws(
    () => noDefault.forDataset("cars"),
    /few\.json has no templates for dataset "cars" and no "imagenet1k" entry to fall back to \(its entries: "pets"\)/,
  );
});

Deno.test("promptOverridesFor: the values and sources for one dataset", async () => {
  const classnames = await readClassnamesFile(await write("n.txt", "x\ny\n"));
  const templates = await readTemplatesFile(await write("t.json", '{"ds": ["a {c}"]}'));
  assert.deepEqual(promptOverridesFor("ds", {}), {});
  assert.deepEqual(promptOverridesFor("ds", { classnames, templates }), {
    classnames: ["x", "y"],
    classnamesSource: classnames.path,
    templates: ["a {c}"],
    templatesSource: templates.path,
  });
  assert.deepEqual(promptOverridesFor("ds", { templates }), {
    templates: ["a {c}"],
    templatesSource: templates.path,
  });
  assert.throws(() => promptOverridesFor("other", { templates }), UsageError);
});

Deno.test("bad files are usage errors naming the file, the entry and the item", async () => {
  await rejectsWith(readClassnamesFile(`${dir}/absent.txt`), /class-names file .*absent\.txt/);
  await rejectsWith(readTemplatesFile(await write("bad.json", "{")), /bad\.json is not valid JSON/);
  await rejectsWith(
    readTemplatesFile(await write("list.json", '["a {c}"]')),
    /list\.json must hold a JSON object keyed by dataset name .* found a list/,
  );
  await rejectsWith(
    readClassnamesFile(await write("obj.json", '{"cars": {"a": ["b"]}}')),
    /obj\.json: entry "cars" must be a list of strings, found an object/,
  );
  await rejectsWith(
    readClassnamesFile(await write("num.json", '{"cars": ["a", 3]}')),
    /num\.json: entry "cars": item 1 is number 3, not a string/,
  );
  await rejectsWith(
    readTemplatesFile(await write("str.json", '{"cars": "a {c}"}')),
    /str\.json: entry "cars" must be a list of templates or an object of class name → prompts, found string "a \{c\}"/,
  );
  await rejectsWith(
    readTemplatesFile(await write("empty.json", '{"cars": {"sedan": []}}')),
    /empty\.json: entry "cars", class "sedan" has no prompts/,
  );
  await rejectsWith(
    readTemplatesFile(await write("nested.json", '{"cars": {"sedan": "a sedan"}}')),
    /nested\.json: entry "cars", class "sedan" must be a list of strings, found string/,
  );
});

Deno.test({
  name: "remove the temporary folder",
  fn: () => Deno.remove(dir, { recursive: true }),
});
