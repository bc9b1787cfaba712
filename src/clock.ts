/** Time source, injected so freeze times, sessions and windows are tested exactly. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private ms: number;
  constructor(start: Date | string = '2026-11-02T09:00:00Z') {
    this.ms = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.ms);
  }
  set(at: Date | string): void {
    this.ms = new Date(at).getTime();
  }
  advance(ms: number): Date {
    this.ms += ms;
    return this.now();
  }
  advanceMinutes(minutes: number): Date {
    return this.advance(minutes * 60_000);
  }
}
