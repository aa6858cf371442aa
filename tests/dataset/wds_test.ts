/**
 * Tests of the WebDataset reader over real files and real HTTP: the datasets under
 * tests/data/tar/ (made by tools/vectors/make_tar_vectors.py), read from disk and from a
 * `Deno.serve` server on 127.0.0.1 that serves the same folder (tests/io/http/_folder_server.ts).
 * The byte source beneath it, with its HTTP retries, resumes and timeouts, is tested in
 * tests/io/.
 */

import assert from "node:assert/strict";
import { type DatasetLocation, locationAt, locationExists } from "../../src/io/byte_source.ts";
import { openWebDataset, splitTextLines } from "../../src/dataset/wds.ts";
import { withServer } from "../io/http/_folder_server.ts";
import { rejectsWith } from "../io/_rejections.ts";
import {
  checkClassificationSamples,
  CLASSIFICATION,
  collect,
  DATA_DIR,
} from "../io/_wds_vectors.ts";

const RETRIEVAL = `${DATA_DIR}wds_retrieval`;

Deno.test("a local classification dataset: metadata and samples in shard order", async () => {
  const dataset = await openWebDataset(CLASSIFICATION);
  assert.equal(dataset.root, CLASSIFICATION);
  assert.equal(dataset.split, "test");
  assert.equal(dataset.type, "classification");
  assert.equal(dataset.nshards, 2);
  assert.deepEqual(dataset.shardUrls, [
    `${CLASSIFICATION}/test/0.tar`,
    `${CLASSIFICATION}/test/1.tar`,
  ]);
  assert.deepEqual(dataset.classnames, ["cat", "dog", "T-shirt/top"]);
  assert.deepEqual(dataset.templates, ["a photo of a {c}.", "a {c}."]);
  checkClassificationSamples(await collect(dataset), dataset.shardUrls);
  const slashed = await openWebDataset(`${CLASSIFICATION}/`);
  assert.deepEqual(slashed.shardUrls, dataset.shardUrls);
});

Deno.test("limit yields exactly the first samples, across shards", async () => {
  const dataset = await openWebDataset(CLASSIFICATION);
  for (const [limit, count] of [[0, 0], [1, 1], [3, 3], [4, 4], [5, 5], [100, 5]]) {
    const samples = await collect(dataset, limit);
    assert.deepEqual(
      samples.map((s) => s.key),
      [0, 1, 2, 3, 4].slice(0, count).map((i) => `s000000${i}`),
      `limit ${limit}`,
    );
  }
  await assert.rejects(collect(dataset, -1), RangeError);
  await assert.rejects(collect(dataset, 1.5), RangeError);
  // Breaking out of the loop early also closes the shard.
  for await (const sample of dataset.samples()) {
    assert.equal(sample.key, "s0000000");
    break;
  }
});

Deno.test("a retrieval dataset has no class names and keeps its txt fields", async () => {
  const dataset = await openWebDataset(RETRIEVAL);
  assert.equal(dataset.type, "retrieval");
  assert.equal(dataset.classnames, undefined);
  assert.equal(dataset.templates, undefined);
  const samples = await collect(dataset);
  assert.deepEqual(samples.map((s) => [s.key, [...s.fields.keys()]]), [
    ["s0000000", ["png", "txt"]],
    ["s0000001", ["png", "txt"]],
  ]);
  assert.equal(new TextDecoder().decode(samples[1].fields.get("txt")), "caption 1 a\ncaption 1 b");
});

/** Writes a dataset folder variant under a temporary directory. */
async function makeDataset(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "clipbench_dataset_" });
  await Deno.mkdir(`${root}/test`);
  await Deno.copyFile(`${CLASSIFICATION}/test/0.tar`, `${root}/test/0.tar`);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${root}/${name}`, text);
  }
  return root;
}

Deno.test("metadata files are read the way CLIP_benchmark reads them", async () => {
  const base = {
    "test/nshards.txt": " 1\n",
    "classnames.txt": "\ufeffcat\r\n\r\n dog \n\n",
    "zeroshot_classification_templates.txt": "a {c}.",
  };
  const roots: string[] = [];
  try {
    const plain = await makeDataset(base);
    roots.push(plain);
    const dataset = await openWebDataset(plain);
    assert.equal(dataset.nshards, 1);
    // Python: [l.strip() for l in "\ufeffcat\r\n\r\n dog \n\n".splitlines()]
    assert.deepEqual(dataset.classnames, ["\ufeffcat", "", "dog", ""]);
    assert.deepEqual(dataset.templates, ["a {c}."]);

    const multilabel = await makeDataset({ ...base, "dataset_type.txt": "  MultiLabel \n" });
    roots.push(multilabel);
    assert.equal((await openWebDataset(multilabel)).type, "multilabel");

    const retrieval = await makeDataset({
      "test/nshards.txt": "1",
      "dataset_type.txt": "Retrieval",
    });
    roots.push(retrieval);
    assert.equal((await openWebDataset(retrieval)).type, "retrieval");

    const unknown = await makeDataset({ ...base, "dataset_type.txt": "segmentation\n" });
    roots.push(unknown);
    await rejectsWith(openWebDataset(unknown), (error) => {
      assert.equal(error.path, `${unknown}/dataset_type.txt`);
      assert.match(error.message, /unknown dataset type "segmentation"/);
    });

    for (const count of ["0\n", "two\n", "", "-1"]) {
      const bad = await makeDataset({ ...base, "test/nshards.txt": count });
      roots.push(bad);
      await rejectsWith(openWebDataset(bad), (error) => {
        assert.equal(error.path, `${bad}/test/nshards.txt`);
        assert.match(error.message, /expected a positive shard count/);
      });
    }

    const { "classnames.txt": _, ...noClassnames } = base;
    const missing = await makeDataset(noClassnames);
    roots.push(missing);
    // Without dataset_type.txt the class files are optional (the task may be retrieval by name).
    const undeclared = await openWebDataset(missing);
    assert.equal(undeclared.typeDeclared, false);
    assert.equal(undeclared.classnames, undefined);
    assert.ok(undeclared.templates !== undefined);
    const declared = await makeDataset({ ...noClassnames, "dataset_type.txt": "classification\n" });
    roots.push(declared);
    await rejectsWith(openWebDataset(declared), (error) => {
      assert.equal(error.path, `${declared}/classnames.txt`);
      assert.match(error.message, /not found/);
    });
    await rejectsWith(openWebDataset(missing, { split: "train" }), (error) => {
      assert.equal(error.path, `${missing}/train/nshards.txt`);
    });

    const extraShard = await makeDataset({ ...base, "test/nshards.txt": "2\n" });
    roots.push(extraShard);
    const partial = await openWebDataset(extraShard);
    const seen: string[] = [];
    await rejectsWith(
      (async () => {
        for await (const sample of partial.samples()) seen.push(sample.key);
      })(),
      (error) => assert.equal(error.path, `${extraShard}/test/1.tar`),
    );
    assert.deepEqual(seen, ["s0000000", "s0000001", "s0000002"]);
  } finally {
    for (const root of roots) await Deno.remove(root, { recursive: true });
  }
});

Deno.test("splitTextLines matches Python's [l.strip() for l in text.splitlines()]", () => {
  // Expected values printed by Python 3.11 for the same inputs.
  const cases: [string, string[]][] = [
    ["a\r\n\r\nb\n\n", ["a", "", "b", ""]],
    ["cat\ndog\n", ["cat", "dog"]],
    ["cat\ndog", ["cat", "dog"]],
    ["\ufeffcat\n", ["\ufeffcat"]],
    [" x \x85y\u2028z\x1cw\x1d\x1e\x1f.\x0b\x0cq\rr", ["x", "y", "z", "w", "", ".", "", "q", "r"]],
    ["\u00a0x\u3000 \n\n\n", ["x", "", ""]],
    ["", []],
    ["\n", [""]],
    ["a\u200bb\n", ["a\u200bb"]],
    [" \t\n", [""]],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(splitTextLines(text), expected, JSON.stringify(text));
  }
});

Deno.test("over HTTP: the same dataset, read from a local server", async () => {
  await withServer({}, async (server) => {
    const root = `${server.origin}/wds_classification`;
    const dataset = await openWebDataset(root);
    assert.equal(dataset.type, "classification");
    assert.deepEqual(dataset.classnames, ["cat", "dog", "T-shirt/top"]);
    assert.deepEqual(dataset.shardUrls, [`${root}/test/0.tar`, `${root}/test/1.tar`]);
    checkClassificationSamples(await collect(dataset), dataset.shardUrls);
    assert.deepEqual(server.requests, [
      "/wds_classification/test/nshards.txt",
      "/wds_classification/dataset_type.txt",
      "/wds_classification/classnames.txt",
      "/wds_classification/zeroshot_classification_templates.txt",
      "/wds_classification/test/0.tar",
      "/wds_classification/test/1.tar",
    ]);
    const slashed = await openWebDataset(`${root}/`);
    assert.deepEqual(slashed.shardUrls, dataset.shardUrls);
    assert.equal((await openWebDataset(`${server.origin}/wds_retrieval`)).type, "retrieval");
    assert.equal(await locationExists(`${root}/test/0.tar`), true);
    assert.equal(await locationExists(`${root}/test/9.tar`), false);
  });
});

Deno.test("over HTTP: limit stops reading, later shards are never requested", async () => {
  await withServer({}, async (server) => {
    const dataset = await openWebDataset(`${server.origin}/wds_classification`);
    server.requests.length = 0;
    const samples = await collect(dataset, 2);
    assert.deepEqual(samples.map((s) => s.key), ["s0000000", "s0000001"]);
    assert.deepEqual(server.requests, ["/wds_classification/test/0.tar"]);
  });
});

Deno.test("a DatasetLocation maps relative paths onto any addressing scheme", async () => {
  await withServer({}, async (server) => {
    // Files addressed by a query parameter, the way ModelScope's API addresses them.
    const base = `${server.origin}/wds_classification`;
    const opened: string[] = [];
    const location: DatasetLocation = {
      root: "query-addressed",
      locate: (path) => `${server.origin}/api?FilePath=${encodeURIComponent(path)}`,
      open: (path, options) => {
        opened.push(path);
        return locationAt(base).open(path, options);
      },
    };
    const dataset = await openWebDataset(location);
    assert.equal(dataset.root, "query-addressed");
    assert.deepEqual(dataset.shardUrls, [
      `${server.origin}/api?FilePath=test%2F0.tar`,
      `${server.origin}/api?FilePath=test%2F1.tar`,
    ]);
    checkClassificationSamples(await collect(dataset), dataset.shardUrls);
    assert.deepEqual(opened, [
      "test/nshards.txt",
      "dataset_type.txt",
      "classnames.txt",
      "zeroshot_classification_templates.txt",
      "test/0.tar",
      "test/1.tar",
    ]);
    await rejectsWith(openWebDataset(location, { split: "train" }), (error) => {
      assert.equal(error.path, `${server.origin}/api?FilePath=train%2Fnshards.txt`);
    });
  });
});

Deno.test("an abort signal stops the iteration with its reason", async () => {
  await withServer({}, async (server) => {
    const dataset = await openWebDataset(`${server.origin}/wds_classification`);
    const controller = new AbortController();
    const reason = new Error("stop here");
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const sample of dataset.samples({ signal: controller.signal })) {
          seen.push(sample.key);
          if (seen.length === 2) controller.abort(reason);
        }
      })(),
      (error) => error === reason,
    );
    assert.deepEqual(seen, ["s0000000", "s0000001"]);
    await assert.rejects(
      openWebDataset(`${server.origin}/wds_classification`, { signal: controller.signal }),
      (error) => error === reason,
    );
  });
});

Deno.test("an abort signal ends a read that waits on a stalled connection", async () => {
  await withServer({ stallAfter: { "wds_classification/test/1.tar": 700 } }, async (server) => {
    const dataset = await openWebDataset(`${server.origin}/wds_classification`);
    const controller = new AbortController();
    const reason = new Error("timed out");
    const seen: string[] = [];
    // Abort once the stalled shard has been asked for (its 700 bytes hold no whole sample, so
    // the reader is then waiting on the stall), whatever the machine's speed; polling is bounded.
    const stalled = "/wds_classification/test/1.tar";
    const aborter = (async () => {
      for (let i = 0; i < 1500 && !(seen.length === 3 && server.requests.includes(stalled)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      controller.abort(reason);
    })();
    await assert.rejects(
      (async () => {
        for await (const sample of dataset.samples({ signal: controller.signal })) {
          seen.push(sample.key);
        }
      })(),
      (error) => error === reason,
    );
    await aborter;
    assert.ok(server.requests.includes(stalled), "the stalled shard was never requested");
    assert.deepEqual(seen, ["s0000000", "s0000001", "s0000002"]);
  });
});
