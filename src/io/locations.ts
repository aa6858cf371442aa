/**
 * Location strings, with no I/O. A location is an `http://` or `https://` URL, a `file://` URL,
 * or a local path; where a location is opened (src/io/byte_source.ts), other URL schemes
 * (`s3://`, `pipe:`…) are rejected.
 *
 * This module tells URLs apart ({@linkcode isHttpUrl}, {@linkcode URL_SCHEME}), joins a dataset
 * root and a relative path ({@linkcode joinLocation}, percent-encoding what a URL path may not
 * hold), and checks a URL against a boundary prefix ({@linkcode isUrlWithin}): after
 * normalisation (`..`, `%2e%2e`, encoded slashes) it must start with the prefix, path segment by
 * path segment (`/data/` does not admit `/data2`).
 *
 * @module
 */

/** Whether `location` is an `http://` or `https://` URL. */
export function isHttpUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** Matches a location that is a URL with an authority (`scheme://…`); group 1 is the scheme. */
export const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Joins a dataset root and a relative `/`-separated path (`"test/0.tar"`). A trailing slash
 * on the root is optional. For URLs, characters that cannot appear in a URL path are
 * percent-encoded in `relativePath` (already valid text, `%XX` escapes included, is kept as
 * is) and a query or fragment on the root stays at the end.
 */
export function joinLocation(root: string, relativePath: string): string {
  if (URL_SCHEME.test(root)) {
    const authorityStart = root.indexOf("//") + 2;
    const queryStart = root.slice(authorityStart).search(/[?#]/);
    const cut = queryStart < 0 ? root.length : authorityStart + queryStart;
    const base = root.slice(0, cut);
    const separator = base.endsWith("/") ? "" : "/";
    return `${base}${separator}${encodeUrlPath(relativePath)}${root.slice(cut)}`;
  }
  if (root === "") return relativePath;
  const separator = root.endsWith("/") || root.endsWith("\\") ? "" : "/";
  return `${root}${separator}${relativePath}`;
}

/**
 * Whether `url`, normalised as a browser would (`..`, `%2e%2e`, `\\`, default ports), lies
 * within the URL prefix `boundary`: same scheme, host and port, and a path that is the
 * boundary's path or continues it after a `/`, with no segment that a server could decode into
 * `.`, `..` or a path separator (`%2f`, `%5c`). Queries and fragments are not compared.
 */
export function isUrlWithin(url: string, boundary: string): boolean {
  let target: URL;
  let base: URL;
  try {
    target = new URL(url);
    base = new URL(boundary);
  } catch {
    return false;
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") return false;
  if (target.origin !== base.origin) return false;
  if (target.username !== base.username || target.password !== base.password) return false;
  const prefix = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  const path = target.pathname;
  if (path === prefix.slice(0, -1)) return true;
  if (!path.startsWith(prefix)) return false;
  for (const segment of path.slice(prefix.length).split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return false;
    }
    if (decoded === "." || decoded === ".." || /[/\\\0]/.test(decoded)) return false;
  }
  return true;
}

/** Characters kept as they are in a URL path: RFC 3986 `pchar` and `/`. */
const URL_PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/** Percent-encodes what may not appear in a URL path, keeping existing `%XX` escapes. */
function encodeUrlPath(path: string): string {
  let result = "";
  for (let i = 0; i < path.length;) {
    const codePoint = path.codePointAt(i)!;
    const char = String.fromCodePoint(codePoint);
    if (URL_PATH_SAFE.test(char)) {
      result += char;
    } else if (char === "%" && /^%[0-9A-Fa-f]{2}/.test(path.slice(i, i + 3))) {
      result += char;
    } else {
      result += encodeURIComponent(char);
    }
    i += char.length;
  }
  return result;
}
