import assert from "node:assert/strict";
import { escapeHtml } from "../../../src/report/html/escape.ts";

Deno.test("escapeHtml replaces the five special characters and nothing else", () => {
  assert.equal(
    escapeHtml(`<script>alert("x" & 'y')</script> café`),
    "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt; café",
  );
  assert.equal(escapeHtml("&amp;"), "&amp;amp;");
  assert.equal(escapeHtml("plain text 75.00 [1, 2]"), "plain text 75.00 [1, 2]");
});
