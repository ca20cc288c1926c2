// The lines of a JSONL byte stream, with every JSON string cut to a bound as it streams past, so
// a line of 200 MB costs the bound in memory, not 200 MB (readline would hold the whole line).
//
// A line no longer than the bound in bytes cannot hold a longer string and is passed whole. A
// longer one goes through a small scanner that tracks whether it is inside a string (and inside
// an escape) and drops a string's characters past the bound, keeping its closing quote: the line
// stays valid JSON with the long strings cut. Characters are counted as UTF-8 lead bytes and
// escapes (`\n`, `\u00e9`: one each), never more than the UTF-16 code units they decode to.

/** A line (without its newline or a trailing CR) and its 1-based number. */
export interface NumberedLine {
  text: string;
  line: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

/** The string-cutting scanner over one line's bytes; `push` returns the bytes it keeps. */
class StringCutter {
  private inString = false;
  private escape = 0; // bytes of an escape still to come (1 after `\`, 4 after `\u`)
  private chars = 0; // characters kept of the current string
  private cutting = false; // dropping the rest of the current string
  private backslashSeen = false;

  constructor(private readonly maxChars: number) {}

  push(buf: Buffer): Buffer {
    const out = Buffer.allocUnsafe(buf.length);
    let n = 0;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (!this.inString) {
        if (b === QUOTE) {
          this.inString = true;
          this.chars = 0;
          this.cutting = false;
        }
        out[n++] = b;
        continue;
      }
      if (this.escape > 0) {
        if (this.backslashSeen) {
          this.backslashSeen = false;
          this.escape = b === 0x75 /* u */ ? 4 : 0;
        } else this.escape--;
        if (!this.cutting) out[n++] = b;
        continue;
      }
      if (b === QUOTE) {
        this.inString = false;
        out[n++] = b;
        continue;
      }
      if (this.cutting && b !== BACKSLASH) {
        // dropping: jump to the next quote or backslash (native search, not a byte at a time)
        const q = buf.indexOf(QUOTE, i);
        const s = buf.indexOf(BACKSLASH, i);
        const next = q < 0 ? s : s < 0 ? q : Math.min(q, s);
        i = (next < 0 ? buf.length : next) - 1;
        continue;
      }
      if ((b & 0xc0) !== 0x80) {
        // a new character (a lead byte, an ASCII byte or a backslash)
        if (this.chars >= this.maxChars) this.cutting = true;
        else this.chars++;
        if (b === BACKSLASH) {
          this.escape = 1;
          this.backslashSeen = true;
        }
      }
      if (!this.cutting) out[n++] = b;
    }
    return out.subarray(0, n);
  }
}

/**
 * The lines of `input` (chunks of bytes), each decoded as UTF-8 with a trailing CR removed and a
 * UTF-8 byte-order mark at the start of the stream dropped; JSON strings longer than
 * `maxStringChars` characters are cut to that many (Infinity: never).
 */
export async function* jsonlLines(
  input: AsyncIterable<Buffer>,
  maxStringChars = Infinity,
): AsyncGenerator<NumberedLine> {
  let parts: Buffer[] = [];
  let size = 0; // bytes of the current line seen, kept or not
  let cutter: StringCutter | null = null;
  let line = 0;
  let first = true;

  const add = (piece: Buffer) => {
    size += piece.length;
    if (cutter) {
      const kept = cutter.push(piece);
      if (kept.length > 0) parts.push(Buffer.from(kept));
      return;
    }
    parts.push(piece);
    if (size > maxStringChars) {
      // from here on the line could hold a string past the bound: scan what came so far
      cutter = new StringCutter(maxStringChars);
      const seen = parts;
      parts = [];
      for (const p of seen) {
        const kept = cutter.push(p);
        if (kept.length > 0) parts.push(Buffer.from(kept));
      }
    }
  };
  const finish = (): NumberedLine => {
    let buf = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    if (first && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    first = false;
    if (buf.length > 0 && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    parts = [];
    size = 0;
    cutter = null;
    return { text: buf.toString('utf8'), line: ++line };
  };

  for await (const chunk of input) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      add(chunk.subarray(start, nl));
      yield finish();
      start = nl + 1;
    }
    // copy a short tail so the chunk it came from is not held
    if (start < chunk.length) add(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
  }
  if (size > 0 || parts.length > 0) yield finish();
}
