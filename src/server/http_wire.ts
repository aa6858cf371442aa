/**
 * The HTTP/1.1 wire format for src/server/http_server.ts: a strict parser of request heads, an
 * incremental decoder of chunked request bodies, and the framing of answers (status line and
 * headers with `Connection: close`, chunks).
 *
 * @module
 */

const encoder = new TextEncoder();

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** Headers the server sets itself; a handler's values for them are dropped. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "upgrade",
  "proxy-connection",
  "te",
  "trailer",
]);

/** A request the server answers itself, with `status` and a one-line `message`. */
export class HttpError extends Error {
  /** `status`: the answer's status code; `message`: its text (it names no server path). */
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The parsed request head. */
export interface RequestHead {
  /** The method (upper-cased where the Fetch API does so). */
  readonly method: string;
  /** The absolute URL (`http://` + Host + target). */
  readonly url: string;
  /** An HTTP/1.0 request (answers are then delimited by the close, not chunked). */
  readonly http10: boolean;
  /** The header fields. */
  readonly headers: Headers;
  /** `"chunked"`, a byte count, or 0 for no body. */
  readonly body: "chunked" | number;
  /** The client waits for `100 Continue` before sending its body. */
  readonly expectContinue: boolean;
}

/** Methods the Fetch API upper-cases. */
const NORMALISED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
/** Methods a Fetch API `Request` cannot have. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const HOST =
  /^(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*(?::[0-9]*)?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]*)?$/;
const TARGET = /^\/[\x21-\x7e]*$/;

/** Bytes as a string of code units 0–255. */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/**
 * Parses a request head (without its final empty line).
 *
 * @throws {HttpError} naming what is wrong.
 */
export function parseHead(text: string, localHost: string): RequestHead {
  const lines = text.split("\r\n");
  if (lines.some((line) => line.includes("\r") || line.includes("\n"))) {
    throw new HttpError(400, "bare CR or LF in the request head");
  }
  const requestLine = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/.exec(lines[0]);
  if (!requestLine) throw new HttpError(400, "malformed request line");
  const [, name, target, major, minor] = requestLine;
  if (!TOKEN.test(name)) throw new HttpError(400, "malformed method");
  // As the Fetch API normalises them (so that HEAD and GET are recognised in any case).
  const upper = name.toUpperCase();
  const method = NORMALISED_METHODS.has(upper) ? upper : name;
  if (FORBIDDEN_METHODS.has(upper)) throw new HttpError(501, `${name} is not supported`);
  if (major !== "1") throw new HttpError(505, `HTTP/${major}.${minor} is not supported`);
  const http10 = minor === "0";
  const headers = new Headers();
  const seen = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      throw new HttpError(400, "folded header lines (obs-fold) are not accepted");
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpError(400, "malformed header line");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value)) throw new HttpError(400, `control character in header ${name}`);
    const key = name.toLowerCase();
    seen.set(key, [...seen.get(key) ?? [], value]);
    try {
      headers.append(name, value);
    } catch {
      throw new HttpError(400, `invalid value of header ${name}`);
    }
  }
  const single = (name: string): string | undefined => {
    const values = seen.get(name);
    if (values && values.length > 1) throw new HttpError(400, `more than one ${name} header`);
    return values?.[0];
  };
  const host = single("host");
  if (host === undefined && !http10) throw new HttpError(400, "no Host header");
  if (host !== undefined && (host === "" || !HOST.test(host))) {
    throw new HttpError(400, "malformed Host header");
  }
  let url: URL;
  if (TARGET.test(target)) {
    url = new URL(`http://${host ?? localHost}${target}`);
  } else if (/^http:\/\/[\x21-\x7e]+$/i.test(target)) {
    try {
      url = new URL(target);
    } catch {
      throw new HttpError(400, "malformed request target");
    }
  } else {
    throw new HttpError(400, "malformed request target");
  }
  const length = single("content-length");
  const coding = single("transfer-encoding");
  if (length !== undefined && coding !== undefined) {
    throw new HttpError(400, "both Content-Length and Transfer-Encoding");
  }
  let body: RequestHead["body"] = 0;
  if (coding !== undefined) {
    if (http10) throw new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (coding.toLowerCase() !== "chunked") {
      throw new HttpError(501, `Transfer-Encoding '${coding}' is not supported (only chunked)`);
    }
    body = "chunked";
  } else if (length !== undefined) {
    if (!/^[0-9]{1,15}$/.test(length)) throw new HttpError(400, "malformed Content-Length");
    body = Number(length);
  }
  const expect = single("expect");
  if (expect !== undefined && expect.toLowerCase() !== "100-continue") {
    throw new HttpError(417, `Expect '${expect}' is not supported`);
  }
  if ((method === "GET" || method === "HEAD") && body !== 0) {
    throw new HttpError(400, `a ${method} request cannot have a body`);
  }
  return {
    method,
    url: url.href,
    http10,
    headers,
    body,
    expectContinue: expect !== undefined && !http10,
  };
}

/** The answer's status line and headers. */
export function responseHead(
  status: number,
  statusText: string,
  headers: Headers,
  framing: "chunked" | "close" | number,
): Uint8Array {
  let text = `HTTP/1.1 ${status} ${statusText || REASONS[status] || ""}\r\n`;
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || name === "set-cookie") continue;
    text += `${name}: ${value}\r\n`;
  }
  for (const cookie of headers.getSetCookie()) text += `set-cookie: ${cookie}\r\n`;
  if (!headers.has("date")) text += `date: ${new Date().toUTCString()}\r\n`;
  if (framing === "chunked") text += "transfer-encoding: chunked\r\n";
  else if (typeof framing === "number") text += `content-length: ${framing}\r\n`;
  text += "connection: close\r\n\r\n";
  return encoder.encode(text);
}

/** A minimal answer the server gives itself. */
export function plainAnswer(
  status: number,
  message: string,
  extra: Record<string, string> = {},
): Uint8Array {
  const body = encoder.encode(message + "\n");
  const head = responseHead(
    status,
    "",
    new Headers({ "content-type": "text/plain; charset=utf-8", ...extra }),
    body.length,
  );
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return bytes;
}

/** One chunk of a chunked body. */
export function chunkFrame(data: Uint8Array): Uint8Array {
  const size = encoder.encode(data.length.toString(16) + "\r\n");
  const frame = new Uint8Array(size.length + data.length + 2);
  frame.set(size);
  frame.set(data, size.length);
  frame.set([13, 10], size.length + data.length);
  return frame;
}

/** Decodes a chunked body incrementally. */
export class ChunkedDecoder {
  #state: "size" | "data" | "data-end" | "trailers" | "done" = "size";
  #remaining = 0;
  #trailerBytes = 0;
  /** `maxLine`: the longest chunk-size line, and the most trailer bytes. */
  constructor(readonly maxLine: number) {}

  /** Consumes what it can of `bytes`: body data, bytes used, whether the body ended. */
  decode(bytes: Uint8Array): { data: Uint8Array; used: number; done: boolean } {
    let used = 0;
    while (true) {
      if (this.#state === "done") return { data: new Uint8Array(0), used, done: true };
      if (this.#state === "data") {
        const take = Math.min(this.#remaining, bytes.length - used);
        if (take === 0) return { data: new Uint8Array(0), used, done: false };
        const data = bytes.slice(used, used + take);
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = "data-end";
        return { data, used: used + take, done: false };
      }
      const lineEnd = indexOfCrlf(bytes, used);
      if (lineEnd < 0) {
        if (bytes.length - used > this.maxLine) {
          throw new HttpError(400, "malformed chunked body (line too long)");
        }
        return { data: new Uint8Array(0), used, done: false };
      }
      const line = latin1(bytes.subarray(used, lineEnd));
      used = lineEnd + 2;
      if (this.#state === "data-end") {
        if (line !== "") throw new HttpError(400, "malformed chunked body (no CRLF after data)");
        this.#state = "size";
      } else if (this.#state === "size") {
        const size = /^([0-9A-Fa-f]{1,12})(?:[ \t]*;[\x20-\x7e\t]*)?$/.exec(line);
        if (!size) throw new HttpError(400, "malformed chunked body (chunk size)");
        this.#remaining = parseInt(size[1], 16);
        this.#state = this.#remaining === 0 ? "trailers" : "data";
      } else {
        this.#trailerBytes += line.length + 2;
        if (this.#trailerBytes > this.maxLine) {
          throw new HttpError(400, "malformed chunked body (trailers too long)");
        }
        if (line === "") this.#state = "done";
        else if (line.startsWith(" ") || line.startsWith("\t") || !/^[^:\s]+:/.test(line)) {
          throw new HttpError(400, "malformed chunked body (trailer)");
        }
      }
    }
  }
}

/** Where the first CRLF at or after `from` starts, or -1. */
function indexOfCrlf(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  }
  return -1;
}

/** Where the first CRLF CRLF at or after `from` starts, or -1. */
export function indexOfBlankLine(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}
