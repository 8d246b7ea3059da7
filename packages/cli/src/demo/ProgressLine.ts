/**
 * A status line on stderr: rewritten in place (`\r`, cleared to the end of the line) when
 * stderr is a terminal (and escape codes are allowed), one plain line per update otherwise (logs
 * and pipes stay readable).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface ProgressLine {
  readonly update: (text: string) => void
  /** Erases the line on a terminal (nothing to do otherwise). */
  readonly clear: () => void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  stream: NodeJS.WriteStream = process.stderr,
  options: { readonly ansi?: boolean } = {}
): ProgressLine => {
  // `ansi: false` (--no-color, NO_COLOR) prints plain lines even on a terminal
  const tty = stream.isTTY === true && options.ansi !== false
  let shown = false
  return {
    update: (text) => {
      if (tty) {
        // a pseudo-terminal may report 0 columns
        const width = stream.columns || 120
        stream.write(`\r${text.slice(0, Math.max(10, width - 1))}\x1b[K`)
        shown = true
      } else {
        stream.write(`${text}\n`)
      }
    },
    clear: () => {
      if (tty && shown) stream.write("\r\x1b[K")
      shown = false
    }
  }
}
