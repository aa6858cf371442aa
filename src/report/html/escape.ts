/**
 * Escaping text for the HTML report: every string from a result file (model, dataset and class
 * names, paths, reasons) goes through {@linkcode escapeHtml} before it is put into the page.
 *
 * @module
 */

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * `text` with `&`, `<`, `>`, `"` and `'` replaced by entities: safe in element content and in
 * quoted attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./escape.ts";
 * console.log(escapeHtml(`<a href="x">Tom & Jerry's</a>`));
 * // &lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ENTITIES[character]);
}
