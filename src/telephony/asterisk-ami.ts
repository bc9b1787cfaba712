import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';

/**
 * An Asterisk Manager Interface client over plain TCP (reference/telephony.md §2.1): reads the banner,
 * logs in with `Action: Login`, parses the line protocol (`Key: Value` lines, a blank line ends a
 * message) and hands every `Event:` message to a handler, one at a time and in order. When the
 * connection drops (or the login is refused) it reconnects with capped, jittered exponential backoff.
 */

/** One AMI message: its headers in the order and spelling Asterisk sent them. */
export type AmiMessage = Record<string, string>;

/** A header by name, case-insensitively (the Cdr event says `UniqueID`, the others `Uniqueid`). */
export function amiField(m: AmiMessage, name: string): string | undefined {
  if (m[name] !== undefined) return m[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(m)) if (k.toLowerCase() === lower) return m[k];
  return undefined;
}

/**
 * Incremental parser of the AMI byte stream: chunks may end anywhere (inside a line, a CRLF or a UTF-8
 * character) and may carry several messages. The first line of a connection is the banner
 * (`Asterisk Call Manager/5.0.3`), which has no blank line after it.
 */
export class AmiParser {
  private decoder = new StringDecoder('utf8');
  private buffer = '';
  private current: AmiMessage = {};
  private lines = 0;
  banner: string | null = null;

  constructor(private expectBanner = true) {}

  /** Feeds one chunk; returns the messages it completed. */
  push(chunk: Buffer | string): AmiMessage[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const out: AmiMessage[] = [];
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) break;
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (this.expectBanner && this.banner === null) {
        this.banner = line;
        continue;
      }
      if (line === '') {
        if (this.lines > 0) out.push(this.current);
        this.current = {};
        this.lines = 0;
        continue;
      }
      const colon = line.indexOf(':');
      // Free text (the output of `Response: Follows` commands) has no header shape; it is skipped.
      if (colon <= 0) continue;
      this.current[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      this.lines++;
    }
    if (this.buffer.length > 1024 * 1024) {
      // A peer that never ends a line is not speaking AMI.
      throw new Error('AMI line longer than 1 MiB');
    }
    return out;
  }
}

/** Serializes an action: `Key: Value` lines, CRLF, and the blank line that ends it. */
export function amiAction(fields: Record<string, string>): string {
  return `${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, ' ')}\r\n`)
    .join('')}\r\n`;
}

export interface Backoff {
  /** First delay after a drop. */
  initialMs: number;
  /** The cap. */
  maxMs: number;
  /** Each delay is scaled by a random factor in [1 - jitter, 1]. */
  jitter: number;
}

export const defaultBackoff: Backoff = { initialMs: 1000, maxMs: 60_000, jitter: 0.3 };

/** The delay before reconnect attempt `attempt` (0-based): doubling from initialMs, capped, jittered. */
export function backoffDelay(attempt: number, b: Backoff = defaultBackoff, random = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(0, Math.round(base * (1 - b.jitter * random())));
}

export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface AmiLogger {
  info: (obj: object, msg?: string) => void;
  warn: (obj: object, msg?: string) => void;
  error: (obj: object, msg?: string) => void;
}

export interface AmiClientOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  /** The Login action's `Events:` classes; Newchannel…Hangup are `call`, Cdr is `cdr`. */
  events?: string;
  /** Called for each `Event:` message, one at a time, in arrival order; errors are logged, not fatal. */
  onEvent: (event: AmiMessage, meta: { connection: number }) => void | Promise<void>;
  /** Connection state changes (for logs, metrics and tests). */
  onState?: (state: 'connecting' | 'connected' | 'disconnected' | 'login-failed', detail?: string) => void;
  backoff?: Partial<Backoff>;
  timers?: Timers;
  random?: () => number;
  /** Gives up a connect or login that takes longer than this. */
  connectTimeoutMs?: number;
  log?: AmiLogger;
}

/**
 * A long-lived AMI connection. `start()` connects; `stop()` closes it and cancels any reconnect.
 * The backoff attempt counter resets after every successful login.
 */
export class AmiClient {
  private socket: net.Socket | null = null;
  private timer: unknown = null;
  private stopped = true;
  private attempt = 0;
  private connections = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly backoff: Backoff;
  private readonly timers: Timers;

  constructor(private readonly opts: AmiClientOptions) {
    this.backoff = { ...defaultBackoff, ...opts.backoff };
    this.timers = opts.timers ?? realTimers;
  }

  /** How many connections were opened so far (1 after the first connect). */
  get connectionCount(): number {
    return this.connections;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes the connection and waits for the events already received to be handled. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end(amiAction({ Action: 'Logoff' }));
        setTimeout(() => socket.destroy(), 1000).unref();
      });
    }
    await this.queue;
  }

  private connect(): void {
    if (this.stopped) return;
    const connection = ++this.connections;
    this.opts.onState?.('connecting');
    const socket = net.connect({ host: this.opts.host, port: this.opts.port });
    this.socket = socket;
    socket.setKeepAlive(true, 30_000);
    socket.setTimeout(this.opts.connectTimeoutMs ?? 10_000);
    const parser = new AmiParser(true);
    const loginId = `ringtrace-login-${connection}`;
    let loggedIn = false;
    let bannerSeen = false;
    let failure: string | undefined;

    socket.on('timeout', () => {
      failure = loggedIn ? 'idle' : 'connect or login timed out';
      if (!loggedIn) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      let messages: AmiMessage[];
      try {
        messages = parser.push(chunk);
      } catch (err) {
        failure = (err as Error).message;
        socket.destroy();
        return;
      }
      if (!bannerSeen && parser.banner !== null) {
        bannerSeen = true;
        if (!parser.banner.startsWith('Asterisk Call Manager')) {
          this.opts.log?.warn({ banner: parser.banner }, 'ami: unexpected banner');
        }
        socket.write(
          amiAction({
            Action: 'Login',
            ActionID: loginId,
            Username: this.opts.username,
            Secret: this.opts.secret,
            Events: this.opts.events ?? 'call,cdr',
          }),
        );
      }
      for (const m of messages) {
        if (!loggedIn) {
          if (m.Response !== undefined && (m.ActionID === undefined || m.ActionID === loginId)) {
            if (m.Response.toLowerCase() === 'success') {
              loggedIn = true;
              this.attempt = 0;
              socket.setTimeout(0);
              this.opts.onState?.('connected');
            } else {
              failure = `login refused: ${m.Message ?? m.Response}`;
              this.opts.onState?.('login-failed', failure);
              socket.destroy();
              return;
            }
          }
          continue;
        }
        if (m.Event === undefined) continue;
        this.queue = this.queue
          .then(() => this.opts.onEvent(m, { connection }))
          .catch((err: unknown) => {
            this.opts.log?.error({ err, event: m.Event }, 'ami: event handler failed');
          });
      }
    });
    socket.on('error', (err) => {
      failure = err.message;
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      this.opts.onState?.('disconnected', failure);
      if (this.stopped) return;
      const delay = backoffDelay(this.attempt++, this.backoff, this.opts.random);
      this.opts.log?.warn(
        { host: this.opts.host, port: this.opts.port, reason: failure, retryInMs: delay },
        'ami: connection lost, reconnecting',
      );
      this.timer = this.timers.setTimeout(() => {
        this.timer = null;
        this.connect();
      }, delay);
    });
  }
}
