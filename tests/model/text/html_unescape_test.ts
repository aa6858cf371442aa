import assert from "node:assert/strict";
import { htmlUnescape } from "../../../src/model/text/html_unescape.ts";

const vectors: { cases: { input: string; once: string; twice: string }[] } = JSON.parse(
  await Deno.readTextFile(new URL("../../data/text/html_unescape.json", import.meta.url)),
);

Deno.test("htmlUnescape equals Python's html.unescape", () => {
  for (const c of vectors.cases) {
    assert.equal(htmlUnescape(c.input), c.once, JSON.stringify(c.input));
    assert.equal(htmlUnescape(htmlUnescape(c.input)), c.twice, JSON.stringify(c.input));
  }
});

Deno.test("htmlUnescape leaves text without '&' untouched (same string)", () => {
  const text = "a photo of a dog.";
  assert.equal(htmlUnescape(text), text);
});
