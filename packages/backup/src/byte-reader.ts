/**
 * Cuts one stream of chunks into consecutive pieces of known lengths without joining them: a
 * snapshot's parts are read from its one object in a single request, part after part.
 */
export class ByteReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #left: Uint8Array | undefined;
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /**
   * The next `n` bytes as chunks; fewer when the source ends first (the caller's hash check notices).
   * Each piece must be read to its end before the next is taken.
   */
  async *take(n: number): AsyncGenerator<Uint8Array> {
    let wanted = n;
    while (wanted > 0) {
      let chunk = this.#left;
      this.#left = undefined;
      if (chunk === undefined) {
        if (this.#ended) return;
        const r = await this.#source.next();
        if (r.done) {
          this.#ended = true;
          return;
        }
        chunk = r.value;
      }
      if (chunk.byteLength > wanted) {
        this.#left = chunk.subarray(wanted);
        chunk = chunk.subarray(0, wanted);
      }
      wanted -= chunk.byteLength;
      if (chunk.byteLength > 0) yield chunk;
    }
  }

  /**
   * Reads the source to its end once every piece has been taken (a ranged read holds nothing
   * more): an HTTP body read to its end keeps its connection for the next request, where one
   * cut short destroys it (regression: under MSW's interceptor the next body on the client
   * then ended early, and a download was refused as DataTampered).
   */
  async finish(): Promise<void> {
    while (!this.#ended) {
      this.#left = undefined;
      if ((await this.#source.next()).done) this.#ended = true;
    }
  }

  /** Ends the source early, when a read is abandoned half-way (an HTTP body is destroyed). */
  async close(): Promise<void> {
    if (!this.#ended) {
      this.#ended = true;
      await this.#source.return?.();
    }
  }
}
