/** The gateway's clock: deletion windows and key-material expiry run on it, not on wall time. */
export interface GatewayClock {
  now(): Date;
  advance(ms: number): Date;
}

export class ManualClock implements GatewayClock {
  #ms: number;
  constructor(start: Date | number = Date.now()) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
  }
  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
    this.#ms += ms;
    return this.now();
  }
}

export const DAY_MS = 86_400_000;
