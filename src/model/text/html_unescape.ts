/**
 * Python's `html.unescape`, reproduced exactly: open_clip runs it twice on every text before
 * tokenising (`basic_clean`), so `&quot;` or `&amp;amp;` in a caption reach the BPE as `"` and `&`.
 *
 * Rules (as in CPython's `html/__init__.py`): a reference is `&#digits;`, `&#xhex;` (the `;` is
 * optional) or `&name;` with a name of up to 32 characters that contains no tab, newline, form
 * feed, space, `<`, `&`, `#` or `;`. Numeric references in HTML5's remapping table are remapped,
 * surrogates and values above U+10FFFF become U+FFFD, and forbidden code points vanish. A name
 * not in the HTML5 table resolves to its longest prefix that is (`&ampx` → `&x`), else stays.
 *
 * @module
 */

import {
  DROPPED_CODE_POINTS,
  NAMED_REFERENCES,
  REMAPPED_NUMERIC_REFERENCES,
} from "./html_entities.ts";

const REFERENCE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

function resolveNumeric(digits: string, radix: number): string {
  // Python's int() has no size limit; anything this long is far above U+10FFFF anyway.
  const value = digits.length > 12 ? Infinity : parseInt(digits, radix);
  const remapped = REMAPPED_NUMERIC_REFERENCES.get(value);
  if (remapped !== undefined) return remapped;
  if ((value >= 0xd800 && value <= 0xdfff) || value > 0x10ffff) return "\ufffd";
  if (DROPPED_CODE_POINTS.has(value)) return "";
  return String.fromCodePoint(value);
}

function resolve(_match: string, body: string): string {
  if (body[0] === "#") {
    const hex = body[1] === "x" || body[1] === "X";
    const digits = body.slice(hex ? 2 : 1).replace(/;$/, "");
    return resolveNumeric(digits.replace(/^0+(?=.)/, ""), hex ? 16 : 10);
  }
  const whole = NAMED_REFERENCES.get(body);
  if (whole !== undefined) return whole;
  for (let length = body.length - 1; length > 1; length--) {
    const prefix = NAMED_REFERENCES.get(body.slice(0, length));
    if (prefix !== undefined) return prefix + body.slice(length);
  }
  return `&${body}`;
}

/** Replaces HTML character references in `text` exactly as Python's `html.unescape` does. */
export function htmlUnescape(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(REFERENCE, resolve);
}
