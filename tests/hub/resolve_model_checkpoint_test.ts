/**
 * Resolving a hub repository of PyTorch weights without ONNX graphs (`checkpoints: true`), over
 * the fake Hugging Face and ModelScope hubs: exactly the side files the repository has and the
 * weight file chosen by priority are downloaded (every shard of an index, none it does not name);
 * an index naming a shard the repository lacks, or a path, is refused by name; without
 * `checkpoints` the export advice stays; offline, the cache answers without a request, and a
 * shard missing from it is listed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ModelError } from "../../src/errors.ts";
import { resolveModel, type ResolveModelOptions } from "../../src/hub/resolve_model.ts";
import { type FakeHub, type RequestRecord, startFakeHub } from "../_fake_hub.ts";

type HubName = "huggingface" | "modelscope";

const encoder = new TextEncoder();

/** Retries without real waiting. */
const FAST_HTTP = {
  clock: { sleep: () => Promise.resolve(), random: () => 0.5, now: () => Date.now() },
};

/** Distinct bytes per file, so a file fetched under the wrong name shows. */
function bytesOf(label: string, size = 256): Uint8Array {
  const seed = [...label].reduce((sum, c) => sum + c.charCodeAt(0), 0);
  return Uint8Array.from({ length: size }, (_, i) => (seed + i * 31) & 0xff);
}

/** The side files of a transformers CLIP checkpoint repository (some of the known ones). */
const SIDE_FILES: Record<string, Uint8Array> = {
  "config.json": encoder.encode(JSON.stringify({ model_type: "clip" })),
  "preprocessor_config.json": encoder.encode("{}"),
  "tokenizer_config.json": encoder.encode("{}"),
  "vocab.json": encoder.encode('{"a</w>": 0}'),
  "merges.txt": encoder.encode("#version: 0.2\n"),
};

/** Files of the repository that a checkpoint never needs. */
const UNNEEDED_FILES: Record<string, Uint8Array> = {
  "README.md": encoder.encode("# weights\n"),
  "configuration.json": encoder.encode('{"framework": "pytorch"}'),
  "tf_model.h5": bytesOf("tf_model.h5"),
  "training_args.bin": bytesOf("training_args.bin"),
};

const SHARDS = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];

/** A `*.index.json` mapping three tensors onto `shards` (the first shard twice). */
function indexOf(shards: readonly string[]): Uint8Array {
  const [first, second] = [shards[0], shards[1] ?? shards[0]];
  return encoder.encode(JSON.stringify({
    metadata: { total_size: 512 },
    weight_map: {
      "logit_scale": first,
      "text_model.embeddings.token_embedding.weight": first,
      "vision_model.embeddings.patch_embedding.weight": second,
    },
  }));
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
function requestedFiles(hub: FakeHub, from = 0): string[] {
  const files = hub.log.slice(from).map(requestedFile).filter((f) => f !== undefined);
  return [...new Set(files as string[])].sort();
}

/** Runs `body` with a fake hub serving `files` as model `someone/ckpt` on `hubName`. */
async function withCheckpointHub(
  hubName: HubName,
  files: Record<string, Uint8Array>,
  body: (hub: FakeHub, options: ResolveModelOptions, cache: string) => Promise<void>,
): Promise<void> {
  const hub = startFakeHub({
    repos: [{ hub: hubName, kind: "model", id: "someone/ckpt", files }],
  });
  const work = await Deno.makeTempDir({ prefix: "clipbench_ckpt_hub_" });
  const cache = join(work, "cache");
  try {
    const options: ResolveModelOptions = {
      hub: hubName,
      endpoint: hub.origin,
      cacheDir: cache,
      checkpoints: true,
      http: FAST_HTTP,
      env: (name) => (name === "HOME" ? work : undefined),
    };
    await body(hub, options, cache);
    assert.equal(hub.overLimit, false);
  } finally {
    await hub.close();
    await Deno.remove(work, { recursive: true });
  }
}

/** `message` is a ModelError whose message passes `check`. */
function modelError(check: (message: string) => boolean) {
  return (error: unknown) => {
    assert.ok(error instanceof ModelError, String(error));
    assert.ok(check(error.message), error.message);
    return true;
  };
}

for (const hubName of ["huggingface", "modelscope"] as const) {
  Deno.test(`checkpoint repo (${hubName}): side files and model.safetensors, never the .bin`, async () => {
    const files = {
      ...SIDE_FILES,
      ...UNNEEDED_FILES,
      "model.safetensors": bytesOf("model.safetensors"),
      "pytorch_model.bin": bytesOf("pytorch_model.bin"),
    };
    await withCheckpointHub(hubName, files, async (hub, options) => {
      const model = await resolveModel("someone/ckpt", options);
      const wanted = [...Object.keys(SIDE_FILES), "model.safetensors"];
      assert.deepEqual([...model.files].sort(), [...wanted].sort());
      assert.deepEqual(requestedFiles(hub), [...wanted].sort());
      assert.equal(hub.log.some((r) => r.path.includes("pytorch_model.bin")), false);
      assert.equal(model.source, hubName);
      assert.equal(model.name, "ckpt");
      for (const file of wanted) {
        assert.deepEqual(
          await Deno.readFile(join(model.dir, file)),
          files[file as keyof typeof files],
        );
      }
      // Offline, the cache answers: the same folder and files, and no request.
      const before = hub.log.length;
      const offline = await resolveModel("someone/ckpt", { ...options, offline: true });
      assert.equal(hub.log.length, before);
      assert.equal(offline.dir, model.dir);
      assert.deepEqual([...offline.files].sort(), [...wanted].sort());
    });
  });

  Deno.test(`checkpoint repo (${hubName}): a sharded index brings every shard it names`, async () => {
    const files = {
      ...SIDE_FILES,
      "model.safetensors.index.json": indexOf(SHARDS),
      [SHARDS[0]]: bytesOf(SHARDS[0]),
      [SHARDS[1]]: bytesOf(SHARDS[1]),
      "model-00003-of-00003.safetensors": bytesOf("stray shard"),
      "pytorch_model.bin.index.json": indexOf(["pytorch_model-00001-of-00001.bin"]),
      "pytorch_model-00001-of-00001.bin": bytesOf("pytorch shard"),
    };
    await withCheckpointHub(hubName, files, async (hub, options, cache) => {
      const model = await resolveModel("someone/ckpt", options);
      const wanted = [...Object.keys(SIDE_FILES), "model.safetensors.index.json", ...SHARDS];
      assert.deepEqual([...model.files].sort(), [...wanted].sort());
      assert.deepEqual(requestedFiles(hub), [...wanted].sort());
      for (const shard of SHARDS) {
        assert.deepEqual(await Deno.readFile(join(model.dir, shard)), files[shard]);
      }
      // Offline with everything cached: no request.
      const before = hub.log.length;
      const offline = await resolveModel("someone/ckpt", { ...options, offline: true });
      assert.equal(hub.log.length, before);
      assert.deepEqual([...offline.files].sort(), [...wanted].sort());
      // Offline with a shard gone from the cache: the shard is listed as missing from the cache.
      await Deno.remove(join(model.dir, SHARDS[1]));
      await assert.rejects(
        resolveModel("someone/ckpt", { ...options, offline: true }),
        modelError((message) =>
          message.startsWith(`${hubName}:someone/ckpt@`) &&
          message.includes("is not fully cached for offline use") &&
          message.endsWith(`missing: ${SHARDS[1]}`)
        ),
      );
      assert.equal(hub.log.length, before);
      assert.ok(model.dir.startsWith(cache));
    });
  });

  Deno.test(`checkpoint repo (${hubName}): an index naming a shard the repo lacks is refused by name`, async () => {
    const files = {
      ...SIDE_FILES,
      "model.safetensors.index.json": indexOf(SHARDS),
      [SHARDS[0]]: bytesOf(SHARDS[0]),
    };
    await withCheckpointHub(hubName, files, async (hub, options) => {
      await assert.rejects(
        resolveModel("someone/ckpt", options),
        modelError((message) =>
          message === `${hubName}:someone/ckpt@${hubName === "huggingface" ? "main" : "master"}: ` +
              `model.safetensors.index.json names ${SHARDS[1]}, which it does not hold`
        ),
      );
      // No weights were downloaded before the index was checked.
      assert.equal(requestedFiles(hub).includes(SHARDS[0]), false);
    });
  });

  Deno.test(`checkpoint repo (${hubName}): an index naming a path is refused`, async () => {
    for (const bad of ["../x", "sub/shard.safetensors", ".."]) {
      const files = {
        ...SIDE_FILES,
        "model.safetensors.index.json": indexOf([SHARDS[0], bad]),
        [SHARDS[0]]: bytesOf(SHARDS[0]),
      };
      await withCheckpointHub(hubName, files, async (hub, options) => {
        await assert.rejects(
          resolveModel("someone/ckpt", options),
          modelError((message) =>
            message.includes("model.safetensors.index.json") &&
            message.includes(JSON.stringify(bad)) && message.includes("must be file names")
          ),
          bad,
        );
        assert.equal(requestedFiles(hub).includes(SHARDS[0]), false);
        assert.equal(hub.log.some((r) => r.path.includes("/x")), false);
      });
    }
  });

  Deno.test(`checkpoint repo (${hubName}): an index with an empty weight_map is refused`, async () => {
    const files = {
      ...SIDE_FILES,
      "model.safetensors.index.json": encoder.encode('{"weight_map": {}}'),
    };
    await withCheckpointHub(hubName, files, async (_hub, options) => {
      await assert.rejects(
        resolveModel("someone/ckpt", options),
        modelError((message) =>
          message.endsWith("model.safetensors.index.json: weight_map is empty")
        ),
      );
    });
  });

  Deno.test(`checkpoint repo (${hubName}): without checkpoints, the export advice stays`, async () => {
    const files = { ...SIDE_FILES, "pytorch_model.bin": bytesOf("pytorch_model.bin") };
    await withCheckpointHub(hubName, files, async (hub, options) => {
      await assert.rejects(
        resolveModel("someone/ckpt", { ...options, checkpoints: false }),
        modelError((message) =>
          message.includes("someone/ckpt@") && message.includes("has no ONNX graphs") &&
          message.includes("optimum-cli export onnx")
        ),
      );
      assert.equal(hub.log.some((r) => r.path.includes("pytorch_model.bin")), false);
    });
    // With checkpoints but no known weight file, the advice stays too.
    await withCheckpointHub(
      hubName,
      { ...SIDE_FILES, "weights.pt": bytesOf("pt") },
      async (hub, options) => {
        await assert.rejects(
          resolveModel("someone/ckpt", options),
          modelError((message) => message.includes("has no ONNX graphs")),
        );
        assert.equal(hub.log.some((r) => r.path.includes("weights.pt")), false);
      },
    );
  });
}

Deno.test("checkpoint repo: open_clip weights with open_clip_config.json and no config.json", async () => {
  const files = {
    "open_clip_config.json": encoder.encode('{"model_cfg": {}}'),
    "open_clip_model.safetensors": bytesOf("open_clip_model.safetensors"),
    "open_clip_pytorch_model.bin": bytesOf("open_clip_pytorch_model.bin"),
    "README.md": encoder.encode("# open_clip\n"),
  };
  await withCheckpointHub("huggingface", files, async (hub, options) => {
    const model = await resolveModel("someone/ckpt", options);
    const wanted = ["open_clip_config.json", "open_clip_model.safetensors"];
    assert.deepEqual([...model.files].sort(), wanted);
    assert.deepEqual(requestedFiles(hub).filter((f) => f !== "config.json"), wanted);
    assert.equal(hub.log.some((r) => r.path.includes("open_clip_pytorch_model.bin")), false);
  });
});
