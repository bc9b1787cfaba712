import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StandInReply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/**
 * A local stand-in for the ad platforms' APIs (Yandex.Direct Reports, Google OAuth, Google Ads) on
 * 127.0.0.1: records every request and answers each path with the replies a test queued for it, in order.
 */
export async function startAdPlatformStandIn() {
  const received: StandInRequest[] = [];
  const queues = new Map<string, StandInReply[]>();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ method: req.method ?? '', path, headers: req.headers, body });
      const reply = queues.get(path)?.shift() ?? { status: 599, body: `no reply queued for ${path}` };
      res.writeHead(reply.status, reply.headers).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** Queues replies for a path. */
    reply(path: string, ...replies: StandInReply[]) {
      queues.set(path, [...(queues.get(path) ?? []), ...replies]);
    },
    /** Requests received since the last call. */
    take(): StandInRequest[] {
      return received.splice(0);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
