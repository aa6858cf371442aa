/**
 * Opening a location as bytes or text: local paths, `file://` URLs and `http://` URLs (a
 * `Deno.serve` server on 127.0.0.1 serving tests/data/tar/), missing files, refused schemes, size
 * and UTF-8 checks, and reads from a byte offset.
 */

import assert from "node:assert/strict";
import {
  locationExists,
  openByteStream,
  openFile,
  readText,
  readTextIfExists,
} from "../../src/io/byte_source.ts";
import { withServer } from "./http/_folder_server.ts";
import { rejectsWith } from "./_rejections.ts";
import { CLASSIFICATION, DATA_DIR } from "./_wds_vectors.ts";

Deno.test("the byte source reads local files, file URLs, and reports missing ones", async () => {
  const nshards = `${CLASSIFICATION}/test/nshards.txt`;
  assert.equal(await readText(nshards), "2\n");
  assert.equal(await readText(`file://${nshards}`), "2\n");
  assert.equal(await readTextIfExists(`${CLASSIFICATION}/dataset_type.txt`), undefined);
  assert.equal(await locationExists(nshards), true);
  assert.equal(await locationExists(`${CLASSIFICATION}/nope.txt`), false);
  assert.equal(await locationExists(CLASSIFICATION), false);
  await rejectsWith(readText(`${CLASSIFICATION}/nope.txt`), (error) => {
    assert.equal(error.path, `${CLASSIFICATION}/nope.txt`);
  });
  await rejectsWith(openByteStream(CLASSIFICATION), (error) => {
    assert.match(error.message, /not a regular file/);
  });
  await rejectsWith(readText(`${CLASSIFICATION}/test/0.tar`, { maxBytes: 1000 }), (error) => {
    assert.match(error.message, /larger than 1000 bytes/);
  });
  await rejectsWith(readText(`${CLASSIFICATION}/test/0.tar`), (error) => {
    assert.match(error.message, /not valid UTF-8/);
  });
  await rejectsWith(readText("s3://bucket/key"), (error) => {
    assert.match(error.message, /unsupported URL scheme "s3:"/);
  });
  const stream = await openByteStream(`${CLASSIFICATION}/test/0.tar`);
  let total = 0;
  for await (const chunk of stream) total += chunk.length;
  assert.equal(total, (await Deno.stat(`${CLASSIFICATION}/test/0.tar`)).size);
});

Deno.test("reads can start at an offset, locally and over HTTP", async () => {
  const shard = "wds_classification/test/0.tar";
  const whole = await Deno.readFile(`${DATA_DIR}${shard}`);
  const read = async (location: string, options: Parameters<typeof openFile>[1]) => {
    const opened = await openFile(location, options);
    assert.equal(opened.kind, "found");
    if (opened.kind !== "found") throw new Error("unreachable");
    assert.equal(opened.size, whole.length);
    return new Uint8Array(await new Response(opened.stream).arrayBuffer());
  };
  assert.deepEqual(await read(`${DATA_DIR}${shard}`, { offset: 1000 }), whole.slice(1000));
  for (const honourRange of [true, false]) {
    await withServer({ honourRange }, async (server) => {
      const url = `${server.origin}/${shard}`;
      assert.deepEqual(await read(url, { offset: 1000 }), whole.slice(1000));
      assert.deepEqual(await read(url, { offset: whole.length }), new Uint8Array());
      assert.equal(server.headers[0].range, "bytes=1000-");
    });
  }
  assert.equal((await openFile(`${DATA_DIR}nope`)).kind, "missing");
  await assert.rejects(openFile(`${DATA_DIR}${shard}`, { offset: -1 }), RangeError);
});
