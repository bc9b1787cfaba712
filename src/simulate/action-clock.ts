import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../clock.js';

/**
 * The replay's clock: every action runs at its own instant (`at`), carried by the async context rather
 * than by one shared mutable time, so actions of different visits can run concurrently and each still
 * reads its own time through the product's ordinary `ctx.clock`. Outside an action it reads `base`.
 */
export class ActionClock implements Clock {
  private readonly current = new AsyncLocalStorage<number>();
  constructor(private base: number) {}

  now(): Date {
    return new Date(this.current.getStore() ?? this.base);
  }

  set(ms: number): void {
    this.base = ms;
  }

  at<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    return this.current.run(ms, fn);
  }
}
