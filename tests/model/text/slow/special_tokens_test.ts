import assert from "node:assert/strict";
import { ModelError } from "../../../../src/errors.ts";
import { addedTokensDecoder, configToken } from "../../../../src/model/text/slow/special_tokens.ts";

Deno.test("special_tokens: strings, AddedToken objects, null and defaults", () => {
  const config = {
    a: "[A]",
    b: { __type: "AddedToken", content: "<b>", normalized: true, lstrip: true },
    c: null,
  };
  assert.deepEqual(configToken(config, "a", "x", "cfg"), { content: "[A]" });
  assert.deepEqual(configToken(config, "b", "x", "cfg"), {
    content: "<b>",
    normalized: true,
    lstrip: true,
    rstrip: undefined,
    single_word: undefined,
  });
  assert.equal(configToken(config, "c", "x", "cfg"), undefined);
  assert.deepEqual(configToken(config, "d", "x", "cfg"), { content: "x" });
  assert.throws(
    () => configToken({ e: 5 }, "e", "x", "/ckpt/tokenizer_config.json"),
    (e: unknown) =>
      e instanceof ModelError &&
      e.message ===
        "/ckpt/tokenizer_config.json: e must be a string or an AddedToken object, got 5",
  );
});

Deno.test("special_tokens: added_tokens_decoder in id order, malformed entries named", () => {
  const entries = addedTokensDecoder({
    added_tokens_decoder: {
      "7": { content: "<b>", special: true },
      "3": { content: "<a>", normalized: true, rstrip: true },
    },
  }, "cfg");
  assert.deepEqual(entries, [
    {
      id: 3,
      content: "<a>",
      single_word: false,
      lstrip: false,
      rstrip: true,
      normalized: true,
      special: false,
    },
    {
      id: 7,
      content: "<b>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    },
  ]);
  assert.equal(addedTokensDecoder({}, "cfg"), undefined);
  assert.throws(
    () => addedTokensDecoder({ added_tokens_decoder: { x: { content: "a" } } }, "/c.json"),
    /\/c\.json: added_tokens_decoder entry "x" must map an id/,
  );
  assert.throws(
    () =>
      addedTokensDecoder(
        { added_tokens_decoder: { "1": { content: "a", special: 1 } } },
        "/c.json",
      ),
    /\/c\.json: added_tokens_decoder\.1\.special must be true or false/,
  );
});
