import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TwilioApiRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}

/**
 * A local stand-in for the Twilio REST API on 127.0.0.1: records each request and answers with the next
 * scripted response, else `201 {sid}` as Calls.json does (twilio.com/docs/voice/api/call-resource).
 */
export async function startTwilioApi() {
  const requests: TwilioApiRequest[] = [];
  const script: Array<{ status: number; body: unknown }> = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        form: new URLSearchParams(body),
      });
      const next = script.shift() ?? {
        status: 201,
        body: { sid: `CA${String(++n).padStart(32, '0')}`, status: 'queued' },
      };
      res.writeHead(next.status, { 'content-type': 'application/json' }).end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Answers the next request with this status and JSON body. */
    respond: (status: number, body: unknown) => script.push({ status, body }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
