import type { IncomingHttpHeaders } from 'node:http';
import { startStandIn } from './stand-in-server.js';

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
  const standIn = await startStandIn((req) => {
    const status = left > 0 ? 500 : 200;
    if (left > 0) left--;
    received.push({
      headers: req.headers,
      body: req.body.toString('utf8'),
      json: req.json as Received['json'],
      status,
    });
    return { status, headers: { 'content-type': 'text/plain' }, body: status === 200 ? 'ok' : 'boom' };
  });
  return {
    url: `${standIn.url}/hook`,
    received,
    /** Successful requests only. */
    delivered: () => received.filter((r) => r.status === 200),
    failNext: (n: number) => {
      left = n;
    },
    close: standIn.close,
  };
}
