import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface StandInReply {
  /** 0 closes the connection without an answer, as a network failure. */
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A local stand-in for a third-party HTTP API on 127.0.0.1: records every request and answers with the
 * reply `respond` gives (a test swaps it to script errors). JSON bodies are sent as application/json.
 */
export async function startStandIn(respond: (req: StandInRequest) => StandInReply) {
  const requests: StandInRequest[] = [];
  const state = { respond };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(received);
      const reply = state.respond(received);
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
