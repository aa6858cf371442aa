/**
 * The content hashes hubs publish for their files, computed over a local file in chunks:
 *
 * - `sha256`: Git LFS files on Hugging Face (`X-Linked-Etag`, the tree's `lfs.oid`) and every
 *   file on ModelScope (`Sha256`);
 * - `git-sha1`: Git's blob id, `sha1("blob <size>\0" + content)`, which Hugging Face gives as
 *   the `ETag` of files kept in Git itself (configs, tokenizers).
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A content hash a hub publishes. */
export type HashAlgorithm = "sha256" | "git-sha1";

/** An expected hash: its algorithm and lower-case hex digest. */
export interface ContentHash {
  /** The algorithm. */
  readonly algorithm: HashAlgorithm;
  /** Lower-case hex digest. */
  readonly hex: string;
}

/**
 * The hash a Hugging Face ETag stands for: 64 hex digits are a SHA-256 (an LFS file), 40 a Git
 * blob id; anything else (a mirror's own ETag) is no hash.
 */
export function hashOfEtag(etag: string): ContentHash | undefined {
  const value = etag.replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase();
  if (/^[0-9a-f]{64}$/.test(value)) return { algorithm: "sha256", hex: value };
  if (/^[0-9a-f]{40}$/.test(value)) return { algorithm: "git-sha1", hex: value };
  return undefined;
}

/** Hashes a local file with `algorithm`, reading it in chunks; returns the hex digest. */
export async function hashFile(path: string, algorithm: HashAlgorithm): Promise<string> {
  const file = await Deno.open(path, { read: true });
  try {
    const hash = createHash(algorithm === "sha256" ? "sha256" : "sha1");
    if (algorithm === "git-sha1") {
      const { size } = await file.stat();
      hash.update(`blob ${size}\0`);
    }
    for await (const chunk of file.readable) hash.update(chunk);
    return hash.digest("hex");
  } catch (error) {
    // file.readable closes the file when it is exhausted; close it on early failures.
    try {
      file.close();
    } catch {
      // already closed
    }
    throw error;
  }
}
