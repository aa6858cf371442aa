/**
 * The style sheet inlined in the HTML report (the page loads nothing: no external fonts, style
 * sheets or scripts). System fonts, readable tables with numbers aligned right, charts that
 * scroll sideways rather than overflow, and print-friendly colours.
 *
 * @module
 */

/** The report's CSS. */
export const REPORT_CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; color: var(--fg); background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p.meta, .notes, .reason, .count, .na, figcaption { color: var(--muted); }
p.meta { margin: 0 0 12px; }
nav ul { margin: 0; padding-left: 18px; columns: 2; }
code { background: var(--bg-alt); padding: 1px 4px; border-radius: 4px; font-size: 13px; }
.table-wrap { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: right; white-space: nowrap; }
thead th { background: var(--bg-alt); text-align: center; }
tbody th, td.left { text-align: left; font-weight: 600; }
td.left { font-weight: normal; }
.ci { color: var(--muted); font-size: 12px; }
.mark { color: #bc4c00; font-weight: 700; cursor: help; }
.verdict.a_better, .verdict.b_better { color: #1a7f37; font-weight: 600; }
.verdict.not_established { color: var(--muted); }
.notes { margin: 4px 0 12px; padding-left: 20px; font-size: 13px; }
figure.chart { margin: 10px 0 18px; overflow-x: auto; }
figure.chart svg { display: block; max-width: none; height: auto; }
.class-row { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: flex-start; }
.class-row > * { flex: 0 1 auto; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
@media print { body { padding: 0; } h2 { break-after: avoid; } figure.chart { break-inside: avoid; } }
`;
