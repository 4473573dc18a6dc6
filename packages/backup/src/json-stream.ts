/**
 * JSON arrays as streams, so that a snapshot part is never a single string or one parsed
 * array in memory: a part of a 1,000,000-user tenant is ~0.7 GB of JSON, and V8 would hold
 * it (and its parse) several times over.
 */

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * The elements of one JSON array (`[a,b,...]`) arriving in byte chunks of any size, each
 * parsed on its own as soon as its last byte is in: only the element being read is held.
 * Refuses (SyntaxError) anything that is not exactly one array.
 */
export async function* parseJsonArray(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  // Bytes of the element being read that arrived in earlier chunks.
  let carry: Uint8Array[] = [];
  let depth = 0; // 1 inside the array, 2+ inside an element's own brackets
  let inString = false;
  let escaped = false;
  let started = false;
  let ended = false;
  let pendingElement = false; // a non-blank byte of the current element has been seen
  let elements = 0; // elements ended by a comma
  const element = (chunk: Uint8Array, from: number, to: number): unknown => {
    let bytes: Uint8Array;
    if (carry.length === 0) bytes = chunk.subarray(from, to);
    else {
      bytes = Buffer.concat([...carry, chunk.subarray(from, to)]);
      carry = [];
    }
    return JSON.parse(decoder.decode(bytes));
  };
  for await (const chunk of chunks) {
    let start = 0; // where the current element's bytes begin in this chunk
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (ended) {
        if (b > 0x20) throw new SyntaxError('JSON array: bytes after the closing bracket');
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
        continue;
      }
      if (!started) {
        if (b <= 0x20) continue;
        if (b !== OPEN_BRACKET) throw new SyntaxError('JSON array: does not start with [');
        started = true;
        depth = 1;
        start = i + 1;
        continue;
      }
      if (b === QUOTE) {
        inString = true;
        pendingElement = true;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        depth++;
        pendingElement = true;
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (depth === 1) {
          // The array's own closing bracket.
          if (pendingElement) yield element(chunk, start, i);
          else if (elements > 0) throw new SyntaxError('JSON array: trailing comma');
          ended = true;
          depth = 0;
          continue;
        }
        depth--;
      } else if (b === COMMA && depth === 1) {
        if (!pendingElement) throw new SyntaxError('JSON array: empty element');
        yield element(chunk, start, i);
        elements++;
        pendingElement = false;
        start = i + 1;
      } else if (b > 0x20) pendingElement = true;
    }
    if (started && !ended && start < chunk.length) carry.push(Uint8Array.from(chunk.subarray(start)));
  }
  if (!ended) throw new SyntaxError('JSON array: ends before its closing bracket');
}

/** Characters gathered before they are handed on: whole frames or deflate blocks, not one call per item. */
const CHUNK = 64 * 1024;

/**
 * Exactly `JSON.stringify([...items], null, indent)` (indent 0: compact), produced as the items
 * arrive; `counted.items` ends as their number.
 */
export async function* stringifyJsonArray(
  items: AsyncIterable<unknown> | Iterable<unknown>,
  options: { indent?: number; counted?: { items: number } } = {},
): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  const indent = options.indent ?? 0;
  const pad = ' '.repeat(indent);
  const counted = options.counted ?? { items: 0 };
  let text = '[';
  for await (const item of items) {
    if (counted.items++ > 0) text += ',';
    // A nested line of the pretty form is the item's own, one level deeper (JSON strings hold no raw newline).
    text += indent === 0 ? JSON.stringify(item) : `\n${pad}${JSON.stringify(item, null, indent).replaceAll('\n', `\n${pad}`)}`;
    if (text.length >= CHUNK) {
      yield encoder.encode(text);
      text = '';
    }
  }
  yield encoder.encode(`${text}${indent > 0 && counted.items > 0 ? '\n' : ''}]`);
}
