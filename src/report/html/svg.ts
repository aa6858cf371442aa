/**
 * Rendering a chart for the HTML report: a Vega-Lite spec compiled by `vega-lite` into a Vega
 * spec, run by a headless Vega `View` (no renderer, no canvas: the SVG string renderer needs
 * neither; text widths are estimated from the font size) and written as one standalone `<svg>`
 * element to embed inline.
 *
 * Several charts share one page, so the element ids Vega writes (clip paths, gradients) are
 * prefixed with a chart's own prefix, and references to them (`url(#…)`, `href="#…"`) follow.
 * Vega's warnings are collected and returned, not printed; an error is thrown.
 *
 * @module
 */

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** A chart rendered to SVG. */
export interface RenderedChart {
  /** One `<svg>` element. */
  readonly svg: string;
  /** What Vega-Lite and Vega warned about while compiling and rendering. */
  readonly warnings: readonly string[];
}

/** An error while compiling or rendering a chart. */
export class ChartError extends Error {
  /** Creates an error naming the chart. */
  constructor(chart: string, message: string, options?: ErrorOptions) {
    super(`chart ${chart}: ${message}`, options);
    this.name = "ChartError";
  }
}

const words = (args: readonly unknown[]) =>
  args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(" ");

/**
 * Prefixes every `id` of an SVG document with `prefix-`, and every local reference to one.
 *
 * @example
 * ```ts
 * import { scopeSvgIds } from "./svg.ts";
 * console.log(scopeSvgIds('<clipPath id="clip1"/><g clip-path="url(#clip1)"/>', "c2"));
 * // <clipPath id="c2-clip1"/><g clip-path="url(#c2-clip1)"/>
 * ```
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id) => `href="#${prefix}-${id}"`);
}

/**
 * Compiles the Vega-Lite `spec` and renders it to SVG, its ids scoped by `prefix`
 * ({@linkcode scopeSvgIds}).
 *
 * @throws {ChartError} naming `prefix` when Vega-Lite or Vega fails.
 */
export async function renderChart(spec: TopLevelSpec, prefix: string): Promise<RenderedChart> {
  const warnings: string[] = [];
  const collect = (_method: string, level: string, args: readonly unknown[]) => {
    if (level === "ERROR") throw new ChartError(prefix, words(args));
    warnings.push(words(args));
  };
  const logger = vega.logger(vega.Warn, undefined, collect);
  let view: vega.View | undefined;
  try {
    const compiled = compile(spec, { logger }).spec;
    view = new vega.View(vega.parse(compiled), { renderer: "none", logger, logLevel: vega.Warn });
    const svg = await view.toSVG();
    return { svg: scopeSvgIds(svg, prefix), warnings };
  } catch (error) {
    if (error instanceof ChartError) throw error;
    throw new ChartError(prefix, (error as Error).message, { cause: error });
  } finally {
    view?.finalize();
  }
}
