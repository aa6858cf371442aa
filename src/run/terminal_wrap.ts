/**
 * Messages written to a terminal, wrapped at its width by clipbench rather than by the terminal:
 * broken at spaces, continuation lines indented by two, a word longer than a line broken where
 * the line ends. Logs and pipes get the text as it is.
 *
 * @module
 */

import { terminalColumns } from "./progress.ts";

/** `text`'s lines, each wrapped to fewer than `columns` characters (see the module doc). */
export function wrapText(text: string, columns: number): string {
  const limit = Math.max(8, columns - 1);
  const indent = "  ";
  const out: string[] = [];
  for (const source of text.split("\n")) {
    if (source.length <= limit) {
      out.push(source);
      continue;
    }
    const lead = /^\s*/.exec(source)![0];
    const words = source.slice(lead.length).split(/ +/);
    let line = lead;
    const flush = () => {
      out.push(line.trimEnd());
      line = indent + lead;
    };
    for (let word of words) {
      const separator = line.trim() === "" ? "" : " ";
      if (line.length + separator.length + word.length <= limit) {
        line += separator + word;
        continue;
      }
      if (line.trim() !== "") flush();
      while (line.length + word.length > limit) {
        const room = limit - line.length;
        out.push(line + word.slice(0, room));
        word = word.slice(room);
        line = indent + lead;
      }
      line += word;
    }
    if (line.trim() !== "") out.push(line.trimEnd());
  }
  return out.join("\n");
}

/** Writes a message line to stderr, wrapped at the terminal's width when stderr is one. */
export function writeMessage(text: string): void {
  console.error(Deno.stderr.isTerminal() ? wrapText(text, terminalColumns()) : text);
}
