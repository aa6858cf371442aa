/**
 * A tokenizer from a hub model, over the fake Hugging Face and ModelScope hubs: a repository with
 * `tokenizer.json` gives a folder with it and its configs (no slow files, no weights); one with
 * only `vocab.json` + `merges.txt` gives those, from which the tokenizer is built with the same
 * ids as the fast one; a repository without tokenizer files, and an offline cache without them,
 * are errors; offline after a download, the cache answers without a request.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ModelError } from "../../src/errors.ts";
import { DEFAULT_OPEN_CLIP_TOKENIZER, resolveTokenizer } from "../../src/hub/resolve_tokenizer.ts";
import type { RepositoryOptions } from "../../src/hub/hub_repository.ts";
import { loadTokenizerFiles, TextTokenizer } from "../../src/model/tokenizer.ts";
import { type FakeHub, type RequestRecord, startFakeHub } from "../_fake_hub.ts";

type HubName = "huggingface" | "modelscope";

const DEMO = new URL("../../examples/demo/tiny-clip-demo/", import.meta.url).pathname;
const encoder = new TextEncoder();

/** Retries without real waiting. */
const FAST_HTTP = {
  clock: { sleep: () => Promise.resolve(), random: () => 0.5, now: () => Date.now() },
};

/** The demo model's tokenizer files, as a hub repository holds them. */
async function demoTokenizerFiles(): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const name of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) {
    files[name] = await Deno.readFile(join(DEMO, name));
  }
  return files;
}

/** The demo tokenizer's slow files: its BPE vocabulary and merges, as CLIPTokenizer saves them. */
async function demoSlowFiles(): Promise<Record<string, Uint8Array>> {
  const model = JSON.parse(await Deno.readTextFile(join(DEMO, "tokenizer.json"))).model as {
    vocab: Record<string, number>;
    merges: (string | [string, string])[];
  };
  const merges = model.merges.map((merge) => (typeof merge === "string" ? merge : merge.join(" ")));
  return {
    "vocab.json": encoder.encode(JSON.stringify(model.vocab)),
    "merges.txt": encoder.encode(`#version: 0.2\n${merges.join("\n")}\n`),
    "tokenizer_config.json": await Deno.readFile(join(DEMO, "tokenizer_config.json")),
  };
}

/** The repository path a logged request asks for (either hub's URL shape), if it asks for one. */
function requestedFile(record: RequestRecord): string | undefined {
  if (record.server === "cdn") return undefined;
  const resolve = /\/resolve\/[^/]+\/([^?]+)/.exec(record.path);
  if (resolve !== null) return resolve[1];
  const modelScope = /[?&]FilePath=([^&]+)/.exec(record.path);
  return modelScope === null ? undefined : modelScope[1];
}

/** The distinct files the hub was asked for, sorted. */
function requestedFiles(hub: FakeHub): string[] {
  return [...new Set(hub.log.map(requestedFile).filter((f) => f !== undefined) as string[])]
    .sort();
}

/** Runs `body` with a fake hub serving `files` as model `id` on `hubName`. */
async function withTokenizerHub(
  hubName: HubName,
  id: string,
  files: Record<string, Uint8Array>,
  body: (hub: FakeHub, options: RepositoryOptions) => Promise<void>,
): Promise<void> {
  const hub = startFakeHub({ repos: [{ hub: hubName, kind: "model", id, files }] });
  const work = await Deno.makeTempDir({ prefix: "clipbench_tokenizer_hub_" });
  try {
    await body(hub, {
      hub: hubName,
      endpoint: hub.origin,
      cacheDir: join(work, "cache"),
      http: FAST_HTTP,
      env: (name) => (name === "HOME" ? work : undefined),
    });
    assert.equal(hub.overLimit, false);
  } finally {
    await hub.close();
    await Deno.remove(work, { recursive: true });
  }
}

/** The ids of `texts` by the tokenizer of `folder` (its files, or built from its slow files). */
async function idsOf(folder: string, texts: readonly string[]): Promise<number[][]> {
  const { tokenizerJson, tokenizerConfig } = await loadTokenizerFiles(folder);
  const tokenizer = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig);
  return texts.map((text) => tokenizer.encodeUnpadded(text));
}

const TEXTS = ["a photo of a t-shirt/top.", "an ankle boot", "Trouser"];

for (const hubName of ["huggingface", "modelscope"] as const) {
  Deno.test(`resolveTokenizer (${hubName}): tokenizer.json and its configs, nothing else`, async () => {
    const files = {
      ...await demoTokenizerFiles(),
      ...await demoSlowFiles(),
      "config.json": encoder.encode("{}"),
      "model.safetensors": new Uint8Array(64),
    };
    await withTokenizerHub(hubName, DEFAULT_OPEN_CLIP_TOKENIZER, files, async (hub, options) => {
      const folder = await resolveTokenizer(DEFAULT_OPEN_CLIP_TOKENIZER, options);
      const wanted = ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"];
      assert.deepEqual(requestedFiles(hub), wanted);
      for (const name of wanted) {
        assert.deepEqual(
          await Deno.readFile(join(folder, name)),
          files[name as keyof typeof files],
        );
      }
      assert.deepEqual(await idsOf(folder, TEXTS), await idsOf(DEMO, TEXTS));
      // Offline, the cache answers without a request.
      const before = hub.log.length;
      assert.equal(
        await resolveTokenizer(DEFAULT_OPEN_CLIP_TOKENIZER, { ...options, offline: true }),
        folder,
      );
      assert.equal(hub.log.length, before);
    });
  });

  Deno.test(`resolveTokenizer (${hubName}): only vocab.json + merges.txt, the tokenizer is built from them`, async () => {
    const files = { ...await demoSlowFiles(), "README.md": encoder.encode("# slow\n") };
    await withTokenizerHub(hubName, "someone/slow-clip", files, async (hub, options) => {
      const folder = await resolveTokenizer("someone/slow-clip", options);
      assert.deepEqual(requestedFiles(hub), ["merges.txt", "tokenizer_config.json", "vocab.json"]);
      assert.deepEqual(await idsOf(folder, TEXTS), await idsOf(DEMO, TEXTS));
    });
  });

  Deno.test(`resolveTokenizer (${hubName}): a repository without tokenizer files is an error`, async () => {
    const files = {
      "config.json": encoder.encode("{}"),
      "tokenizer_config.json": encoder.encode("{}"),
      "model.safetensors": new Uint8Array(64),
    };
    await withTokenizerHub(hubName, "someone/no-tokenizer", files, async (hub, options) => {
      await assert.rejects(
        resolveTokenizer("someone/no-tokenizer", options),
        (error) =>
          error instanceof ModelError &&
          error.message ===
            `${hubName}:someone/no-tokenizer@${hubName === "huggingface" ? "main" : "master"} ` +
              "has no tokenizer files (tokenizer.json, vocab.json + merges.txt, vocab.txt or " +
              "spiece.model)",
      );
      assert.equal(requestedFiles(hub).includes("model.safetensors"), false);
    });
  });

  Deno.test(`resolveTokenizer (${hubName}): offline with nothing cached is an error, without a request`, async () => {
    await withTokenizerHub(
      hubName,
      DEFAULT_OPEN_CLIP_TOKENIZER,
      await demoTokenizerFiles(),
      async (hub, options) => {
        await assert.rejects(
          resolveTokenizer(DEFAULT_OPEN_CLIP_TOKENIZER, { ...options, offline: true }),
          (error) =>
            error instanceof ModelError &&
            error.message.includes(`${DEFAULT_OPEN_CLIP_TOKENIZER}@`) &&
            error.message.includes("no tokenizer files are cached for offline use"),
        );
        assert.equal(hub.log.length, 0);
      },
    );
  });
}
