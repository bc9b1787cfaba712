import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmiClient,
  type AmiMessage,
  AmiParser,
  amiAction,
  amiField,
  backoffDelay,
  type Timers,
} from '../src/telephony/asterisk-ami.js';

const STREAM =
  'Asterisk Call Manager/5.0.3\r\n' +
  'Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n' +
  'Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-00000001\r\nCallerIDNum: 79161234567\r\n' +
  'CallerIDName: Иван Петров\r\nExten: 74997778800\r\nUniqueid: 1793610300.101\r\nLinkedid: 1793610300.101\r\n\r\n' +
  'Event: Hangup\r\nUniqueid: 1793610300.101\r\nCause: 16\r\nCause-txt: Normal Clearing\r\n\r\n';

describe('AmiParser', () => {
  const expected: AmiMessage[] = [
    { Response: 'Success', ActionID: '1', Message: 'Authentication accepted' },
    {
      Event: 'Newchannel',
      Privilege: 'call,all',
      Channel: 'PJSIP/trunk-00000001',
      CallerIDNum: '79161234567',
      CallerIDName: 'Иван Петров',
      Exten: '74997778800',
      Uniqueid: '1793610300.101',
      Linkedid: '1793610300.101',
    },
    { Event: 'Hangup', Uniqueid: '1793610300.101', Cause: '16', 'Cause-txt': 'Normal Clearing' },
  ];

  it('parses the banner and several messages in one chunk', () => {
    const p = new AmiParser();
    expect(p.push(Buffer.from(STREAM))).toEqual(expected);
    expect(p.banner).toBe('Asterisk Call Manager/5.0.3');
  });

  it('handles every split point: inside lines, between CR and LF, inside a UTF-8 character', () => {
    const bytes = Buffer.from(STREAM);
    for (let size = 1; size <= 17; size++) {
      const p = new AmiParser();
      const got: AmiMessage[] = [];
      for (let i = 0; i < bytes.length; i += size) got.push(...p.push(bytes.subarray(i, i + size)));
      expect(got, `chunk size ${size}`).toEqual(expected);
    }
  });

  it('accepts bare LF, skips free text and extra blank lines, keeps a partial message for later', () => {
    const p = new AmiParser(false);
    expect(
      p.push('\r\nResponse: Follows\nPrivilege: Command\nsome command output\n--END COMMAND--\n\n\n'),
    ).toEqual([{ Response: 'Follows', Privilege: 'Command' }]);
    expect(p.push('Event: Cdr\r\nUniqueID: 1.2\r\nUserField:')).toEqual([]);
    expect(p.push(' \r\nDisposition: NO ANSWER\r\n\r\n')).toEqual([
      { Event: 'Cdr', UniqueID: '1.2', UserField: '', Disposition: 'NO ANSWER' },
    ]);
  });

  it('looks fields up case-insensitively and serializes actions', () => {
    expect(amiField({ UniqueID: '1.2' }, 'Uniqueid')).toBe('1.2');
    expect(amiField({ Uniqueid: '1.3' }, 'Uniqueid')).toBe('1.3');
    expect(amiAction({ Action: 'Login', Username: 'u', Secret: 'a\r\nAction: Originate' })).toBe(
      'Action: Login\r\nUsername: u\r\nSecret: a  Action: Originate\r\n\r\n',
    );
  });
});

describe('reconnect backoff', () => {
  it('doubles from the initial delay up to the cap, jittered downwards', () => {
    const b = { initialMs: 1000, maxMs: 60_000, jitter: 0.3 };
    expect([0, 1, 2, 3, 6, 7, 50].map((a) => backoffDelay(a, b, () => 0))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000, 60_000,
    ]);
    expect(backoffDelay(2, b, () => 1)).toBe(2800);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, b);
      expect(d).toBeGreaterThanOrEqual(5600);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  describe('AmiClient with injected timers', () => {
    const servers: net.Server[] = [];
    const clients: AmiClient[] = [];
    afterEach(async () => {
      for (const c of clients.splice(0)) await c.stop();
      for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    });

    it('reconnects after drops with growing delays and resets them after a successful login', async () => {
      let accepted = 0;
      const server = net.createServer((socket) => {
        accepted++;
        socket.on('error', () => {});
        // Connections 1-3 drop right after the banner; the 4th logs in, sends an event, then drops.
        socket.write('Asterisk Call Manager/5.0.3\r\n');
        if (accepted <= 3) {
          socket.destroy();
          return;
        }
        socket.once('data', () => {
          socket.write(
            'Response: Success\r\nActionID: ringtrace-login-4\r\nMessage: Authentication accepted\r\n\r\n',
          );
          socket.end('Event: Hangup\r\nUniqueid: 1.1\r\n\r\n');
        });
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;

      const delays: number[] = [];
      const pending: Array<() => void> = [];
      const timers: Timers = {
        setTimeout: (fn, ms) => {
          delays.push(ms);
          pending.push(fn);
          return pending.length;
        },
        clearTimeout: () => {},
      };
      const events: AmiMessage[] = [];
      const states: string[] = [];
      const client = new AmiClient({
        host: '127.0.0.1',
        port,
        username: 'u',
        secret: 's',
        timers,
        random: () => 0,
        backoff: { initialMs: 100, maxMs: 350 },
        onEvent: (m) => {
          events.push(m);
        },
        onState: (s) => states.push(s),
      });
      clients.push(client);
      client.start();
      const waitFor = async (cond: () => boolean) => {
        for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
        expect(cond()).toBe(true);
      };
      for (let n = 1; n <= 3; n++) {
        await waitFor(() => delays.length === n);
        // Nothing reconnects until the injected timer fires.
        expect(accepted).toBe(n);
        pending.shift()?.();
      }
      await waitFor(() => delays.length === 4);
      expect(delays).toEqual([100, 200, 350, 100]);
      expect(events).toEqual([{ Event: 'Hangup', Uniqueid: '1.1' }]);
      expect(states.filter((s) => s === 'connected')).toHaveLength(1);
      expect(client.connectionCount).toBe(4);
    });

    it('treats a refused login as a drop', async () => {
      const server = net.createServer((socket) => {
        socket.on('error', () => {});
        socket.write('Asterisk Call Manager/5.0.3\r\n');
        socket.once('data', () =>
          socket.write(
            'Response: Error\r\nActionID: ringtrace-login-1\r\nMessage: Authentication failed\r\n\r\n',
          ),
        );
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const delays: number[] = [];
      const states: Array<[string, string | undefined]> = [];
      const client = new AmiClient({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        username: 'u',
        secret: 'wrong',
        timers: { setTimeout: (_fn, ms) => delays.push(ms), clearTimeout: () => {} },
        random: () => 0,
        onEvent: () => {},
        onState: (s, d) => states.push([s, d]),
      });
      clients.push(client);
      client.start();
      for (let i = 0; i < 200 && delays.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(delays).toEqual([1000]);
      expect(states).toContainEqual(['login-failed', 'login refused: Authentication failed']);
    });
  });
});
