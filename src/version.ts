/**
 * clipbench's version: one constant, read from `deno.json`'s `version` (the package's), which the
 * command line prints and the HTTP health check reports.
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };

/** The clipbench version, e.g. `0.1.0`. */
export const VERSION: string = config.version;
