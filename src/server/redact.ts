/**
 * Keeping server paths out of answers: every server-side spelling of a folder or URL the handler
 * resolved for a request (the model folder and its real path, the dataset folder or URL, the
 * configured roots, the cache folder) is replaced, before an answer leaves, by the name the client
 * knows it by (the model and dataset as the request named them) or by a placeholder
 * (`<model root>`, `<dataset root>`, `<cache>`).
 *
 * Error messages of the evaluation (not the handler's own request errors, which quote the request)
 * also lose any absolute path left after that (`<server path>`): a message from deep inside a
 * reader may name a file the handler never saw.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";

/** Absolute POSIX paths not already part of a URL, a relative path or a word. */
const ABSOLUTE_PATH = /(?<![\w.:/~%-])\/(?!\/)[^\s'"`()<>[\]{},;]+/g;

/** The placeholder of an absolute path no known name replaces. */
const SERVER_PATH = "<server path>";

/** Replaces server paths by client-facing names (see the module documentation). */
export class PathRedactor {
  readonly #names = new Map<string, string>();
  #ordered: [string, string][] | undefined;

  /**
   * Replaces `serverPath` (as given, and resolved when it is a relative local path; a trailing
   * separator ignored) by `clientName` in everything redacted from now on. Empty paths and `/` are
   * ignored.
   */
  add(serverPath: string | undefined, clientName: string): this {
    if (serverPath === undefined) return this;
    const spellings = [serverPath];
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(serverPath) && !isAbsolute(serverPath)) {
      spellings.push(resolve(serverPath));
    }
    for (const spelling of spellings) {
      const trimmed = spelling.replace(/(.)[\\/]+$/, "$1");
      if (trimmed.length < 2 || trimmed === clientName || this.#names.has(trimmed)) continue;
      this.#names.set(trimmed, clientName);
      this.#ordered = undefined;
    }
    return this;
  }

  /** `text` with every known server path replaced, longest first. */
  text(text: string): string {
    this.#ordered ??= [...this.#names].sort((a, b) => b[0].length - a[0].length);
    let out = text;
    for (const [path, name] of this.#ordered) {
      if (out.includes(path)) out = out.split(path).join(name);
    }
    return out;
  }

  /** An error message: known paths replaced, then any other absolute path. */
  message(text: string): string {
    return this.text(text).replace(ABSOLUTE_PATH, SERVER_PATH);
  }

  /**
   * A copy of `value` with every string in it (in arrays and plain objects, keys included)
   * redacted by {@linkcode PathRedactor.text}; other objects (typed arrays, maps) are kept as
   * they are.
   */
  value<T>(value: T): T {
    return this.#deep(value) as T;
  }

  #deep(value: unknown): unknown {
    if (typeof value === "string") return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.#deep(item));
    if (value !== null && typeof value === "object") {
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return value;
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [this.text(key), this.#deep(item)]),
      );
    }
    return value;
  }
}
