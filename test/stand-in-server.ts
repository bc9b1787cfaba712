import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON; null when empty or not JSON. */
  json: unknown;
}

export interface StandInReply {
  /** 0 closes the connection without an answer, as a network failure. */
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A local stand-in for a third-party HTTP API on 127.0.0.1: records every request and answers with the
 * next reply queued for its method and path, else with the reply `respond` gives (a test swaps it to
 * script errors). JSON bodies are sent as application/json.
 */
export async function startStandIn(respond: (req: StandInRequest) => StandInReply) {
  const requests: StandInRequest[] = [];
  const queued = new Map<string, StandInReply[]>();
  const state = { respond };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let json: unknown = null;
      try {
        json = raw.length ? JSON.parse(raw.toString('utf8')) : null;
      } catch {}
      const received: StandInRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: raw,
        json,
      };
      requests.push(received);
      const reply = queued.get(`${received.method} ${received.path}`)?.shift() ?? state.respond(received);
      if (reply.status === 0) {
        req.socket.destroy();
        return;
      }
      const body =
        reply.body === undefined
          ? ''
          : typeof reply.body === 'string'
            ? reply.body
            : JSON.stringify(reply.body);
      res
        .writeHead(reply.status, {
          ...(typeof reply.body === 'object' ? { 'content-type': 'application/json' } : {}),
          ...reply.headers,
        })
        .end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Replaces how the next requests are answered. */
    answer: (next: (req: StandInRequest) => StandInReply) => {
      state.respond = next;
    },
    /** Answers the next requests to `method path` with `replies`, in order (before `respond`). */
    queue(method: string, path: string, ...replies: StandInReply[]) {
      const key = `${method} ${path}`;
      queued.set(key, [...(queued.get(key) ?? []), ...replies]);
    },
    /** Requests recorded since the last call. */
    take(): StandInRequest[] {
      return requests.splice(0);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The fields and files of a multipart/form-data request, parsed by the platform's own parser. */
export async function multipartForm(req: StandInRequest): Promise<FormData> {
  return new Request('http://stand-in/', {
    method: 'POST',
    headers: { 'content-type': String(req.headers['content-type']) },
    body: new Uint8Array(req.body),
  }).formData();
}
