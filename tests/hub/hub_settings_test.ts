/**
 * Hub settings from options and the environment variables the Python tools read: hub choice,
 * endpoints (`HF_ENDPOINT`, `MODELSCOPE_DOMAIN`, `CLIPBENCH_HUB_ENDPOINT`, plain http for a
 * mirror), revisions, tokens (`HF_TOKEN`, the token file, `MODELSCOPE_API_TOKEN`), cache roots
 * (`HF_HUB_CACHE`, `HF_HOME`, `XDG_CACHE_HOME`, `MODELSCOPE_CACHE`) and offline mode.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import { type HubOptions, hubSettings, parseHubName } from "../../src/hub/hub_settings.ts";

function settings(variables: Record<string, string>, options: HubOptions = {}, kind = "model") {
  return hubSettings(
    { ...options, env: (name) => variables[name] },
    kind as "model" | "dataset",
  );
}

Deno.test("defaults: ModelScope, master, huggingface.co / modelscope.cn, home caches", () => {
  const home = { HOME: "/home/u" };
  const modelscope = settings(home);
  assert.equal(modelscope.hub, "modelscope");
  assert.equal(modelscope.endpoint, "https://www.modelscope.cn");
  assert.equal(modelscope.revision, "master");
  assert.equal(modelscope.cacheRoot, "/home/u/.cache/modelscope/hub/models");
  assert.equal(settings(home, {}, "dataset").cacheRoot, "/home/u/.cache/modelscope/hub/datasets");
  assert.deepEqual(modelscope.authHeaders, {});
  assert.equal(modelscope.offline, false);
  const huggingFace = settings(home, { hub: "huggingface" });
  assert.equal(huggingFace.endpoint, "https://huggingface.co");
  assert.equal(huggingFace.revision, "main");
  assert.equal(huggingFace.cacheRoot, "/home/u/.cache/huggingface/hub");
  assert.equal(settings(home, { hub: "huggingface" }, "dataset").cacheRoot, huggingFace.cacheRoot);
});

Deno.test("endpoints: option, CLIPBENCH_HUB_ENDPOINT, HF_ENDPOINT, MODELSCOPE_DOMAIN", () => {
  const hf = { hub: "huggingface" as const };
  assert.equal(
    settings({ HF_ENDPOINT: "https://hf-mirror.com/" }, hf).endpoint,
    "https://hf-mirror.com",
  );
  assert.equal(
    settings({ HF_ENDPOINT: "https://a", CLIPBENCH_HUB_ENDPOINT: "http://127.0.0.1:9" }, hf)
      .endpoint,
    "http://127.0.0.1:9",
  );
  assert.equal(
    settings({ CLIPBENCH_HUB_ENDPOINT: "http://b" }, { ...hf, endpoint: "http://c:8080/" })
      .endpoint,
    "http://c:8080",
  );
  assert.equal(settings({ MODELSCOPE_DOMAIN: "modelscope.ai" }).endpoint, "https://modelscope.ai");
  assert.equal(
    settings({ MODELSCOPE_DOMAIN: "http://mirror:8000" }).endpoint,
    "http://mirror:8000",
  );
  assert.throws(() => settings({ HF_ENDPOINT: "ftp://x" }, hf), UsageError);
  assert.throws(
    () => settings({}, { endpoint: "not a url" }),
    (error) =>
      error instanceof UsageError && /endpoint must be an http\(s\):\/\/ URL/.test(error.message),
  );
});

Deno.test("tokens: HF_TOKEN, the HF_HOME token file, MODELSCOPE_API_TOKEN, the option", async () => {
  const hf = { hub: "huggingface" as const };
  assert.deepEqual(settings({ HF_TOKEN: "hf_a" }, hf).authHeaders, {
    authorization: "Bearer hf_a",
  });
  assert.deepEqual(settings({ HUGGING_FACE_HUB_TOKEN: "hf_b" }, hf).authHeaders, {
    authorization: "Bearer hf_b",
  });
  assert.deepEqual(settings({ HF_TOKEN: "hf_a" }, { ...hf, token: "hf_c" }).authHeaders, {
    authorization: "Bearer hf_c",
  });
  assert.deepEqual(settings({ MODELSCOPE_API_TOKEN: "ms" }).authHeaders, {
    cookie: "m_session_id=ms",
  });
  const home = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(home, "token"), "hf_file\n");
    assert.deepEqual(settings({ HF_HOME: home }, hf).authHeaders, {
      authorization: "Bearer hf_file",
    });
    assert.deepEqual(settings({ HF_TOKEN_PATH: join(home, "token") }, hf).authHeaders, {
      authorization: "Bearer hf_file",
    });
    assert.deepEqual(settings({ HF_HOME: join(home, "none") }, hf).authHeaders, {});
  } finally {
    await Deno.remove(home, { recursive: true });
  }
  assert.throws(() => settings({}, { token: "a\nb" }), UsageError);
});

Deno.test("caches: HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, MODELSCOPE_CACHE, the option", () => {
  const hf = { hub: "huggingface" as const };
  assert.equal(settings({ HF_HUB_CACHE: "/c/hub", HF_HOME: "/h" }, hf).cacheRoot, "/c/hub");
  assert.equal(settings({ HUGGINGFACE_HUB_CACHE: "/legacy" }, hf).cacheRoot, "/legacy");
  assert.equal(settings({ HF_HOME: "/h" }, hf).cacheRoot, "/h/hub");
  assert.equal(settings({ XDG_CACHE_HOME: "/x", HOME: "/u" }, hf).cacheRoot, "/x/huggingface/hub");
  assert.equal(settings({ HF_HOME: "~/hf", HOME: "/u" }, hf).cacheRoot, "/u/hf/hub");
  assert.equal(settings({ MODELSCOPE_CACHE: "/m" }).cacheRoot, "/m/models");
  assert.equal(settings({ MODELSCOPE_CACHE: "/m" }, {}, "dataset").cacheRoot, "/m/datasets");
  assert.equal(settings({ MODELSCOPE_CACHE: "/m" }, { cacheDir: "/mine" }).cacheRoot, "/mine");
  assert.equal(settings({ HF_HUB_CACHE: "/c" }, { ...hf, cacheDir: "/mine" }).cacheRoot, "/mine");
});

Deno.test("offline: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE truthy values, or the option", () => {
  for (const value of ["1", "ON", "yes", "True"]) {
    assert.equal(settings({ HF_HUB_OFFLINE: value }).offline, true, value);
  }
  for (const value of ["0", "", "false", "no"]) {
    assert.equal(settings({ HF_HUB_OFFLINE: value }).offline, false, value);
  }
  assert.equal(settings({ TRANSFORMERS_OFFLINE: "1" }).offline, true);
  assert.equal(settings({ HF_HUB_OFFLINE: "1" }, { offline: false }).offline, false);
});

Deno.test("hub names and revisions are checked", () => {
  assert.equal(parseHubName("HuggingFace", "--hub"), "huggingface");
  assert.equal(parseHubName("hf", "--hub"), "huggingface");
  assert.equal(parseHubName("ModelScope", "--hub"), "modelscope");
  assert.throws(
    () => parseHubName("github", "models[0].hub"),
    (error) =>
      error instanceof UsageError &&
      error.message === "models[0].hub must be modelscope or huggingface, got 'github'",
  );
  assert.equal(settings({}, { revision: "v1.0" }).revision, "v1.0");
  assert.throws(() => settings({}, { revision: "" }), UsageError);
  assert.throws(() => settings({}, { revision: "../../x" }), UsageError);
  assert.equal(settings({}, { revision: "refs/pr/1" }).revision, "refs/pr/1");
});
