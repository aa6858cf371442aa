/**
 * Location strings: joining a dataset root and a relative path, telling URLs apart, and checking
 * a URL against a boundary prefix.
 */

import assert from "node:assert/strict";
import { isHttpUrl, isUrlWithin, joinLocation } from "../../src/io/locations.ts";

Deno.test("joinLocation joins local paths and URLs", () => {
  const cases: [string, string, string][] = [
    ["/data/ds", "test/0.tar", "/data/ds/test/0.tar"],
    ["/data/ds/", "test/0.tar", "/data/ds/test/0.tar"],
    ["ds", "classnames.txt", "ds/classnames.txt"],
    ["", "classnames.txt", "classnames.txt"],
    ["https://host/a/b", "test/0.tar", "https://host/a/b/test/0.tar"],
    ["https://host/a/b/", "test/0.tar", "https://host/a/b/test/0.tar"],
    ["http://host", "test/0.tar", "http://host/test/0.tar"],
    ["https://host/a?download=true", "test/0.tar", "https://host/a/test/0.tar?download=true"],
    ["https://host/a/#frag", "x.txt", "https://host/a/x.txt#frag"],
    ["https://host/a", "my split/0.tar", "https://host/a/my%20split/0.tar"],
    ["https://host/a", "a%20b/é#?.tar", "https://host/a/a%20b/%C3%A9%23%3F.tar"],
    ["https://host/a", "x:y@z(1)/0.tar", "https://host/a/x:y@z(1)/0.tar"],
  ];
  for (const [root, relative, expected] of cases) {
    assert.equal(joinLocation(root, relative), expected, `${root} + ${relative}`);
  }
  assert.equal(isHttpUrl("HTTPS://x"), true);
  assert.equal(isHttpUrl("/tmp/x"), false);
  assert.equal(isHttpUrl("file:///tmp/x"), false);
});

Deno.test("isUrlWithin: normalised, path-segment aware, no encoded separators", () => {
  const boundary = "http://127.0.0.1:8000/data/ds/";
  const inside = [
    "http://127.0.0.1:8000/data/ds/test/0.tar",
    "http://127.0.0.1:8000/data/ds",
    "HTTP://127.0.0.1:8000/data/ds/a/../test/nshards.txt",
    "http://127.0.0.1:8000/data/ds/test/0.tar?x=../../y",
  ];
  const outside = [
    "http://127.0.0.1:8000/data/ds2/test/0.tar",
    "http://127.0.0.1:8000/data/ds/../secret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/%2e%2e/secret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/.%2E/secret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/..%2fsecret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/..%5Csecret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/%252e%2f/x",
    "http://127.0.0.1:8000/data/ds\\..\\secret",
    "http://127.0.0.1:8001/data/ds/test/0.tar",
    "https://127.0.0.1:8000/data/ds/test/0.tar",
    "http://evil@127.0.0.1:8000/data/ds/test/0.tar",
    "file:///data/ds/test/0.tar",
    "not a url",
  ];
  for (const url of inside) assert.ok(isUrlWithin(url, boundary), url);
  for (const url of outside) assert.ok(!isUrlWithin(url, boundary), url);
  assert.ok(isUrlWithin("http://h/data/ds/x", "http://h/data/ds"));
  assert.ok(!isUrlWithin("http://h/data/dsx", "http://h/data/ds"));
});
