import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CrmRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface CrmReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A local stand-in for a CRM's REST API on 127.0.0.1: records every request (JSON bodies parsed) and
 * answers with what the test's `respond` returns, or with the next queued reply for that method and path.
 */
export async function startCrmStandIn(respond: (req: CrmRequest) => CrmReply) {
  const requests: CrmRequest[] = [];
  const queued = new Map<string, CrmReply[]>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: CrmRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: raw ? JSON.parse(raw) : null,
      };
      requests.push(request);
      const reply = queued.get(`${request.method} ${request.path}`)?.shift() ?? respond(request);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Answers the next request to `method path` with `reply` (before `respond`). */
    queue(method: string, path: string, reply: CrmReply) {
      const list = queued.get(`${method} ${path}`) ?? [];
      list.push(reply);
      queued.set(`${method} ${path}`, list);
    },
    /** Requests recorded since the last call. */
    take(): CrmRequest[] {
      return requests.splice(0);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
