import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  status: number;
}

/** A local stand-in webhook receiver on 127.0.0.1 that answers 500 to the first `failures` requests. */
export async function startReceiver(failures = 0) {
  const received: Received[] = [];
  let left = failures;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const status = left > 0 ? 500 : 200;
      if (left > 0) left--;
      received.push({ headers: req.headers, body, json: JSON.parse(body), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'boom');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    /** Successful requests only. */
    delivered: () => received.filter((r) => r.status === 200),
    failNext: (n: number) => {
      left = n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
