import net from 'node:net';
import { type AmiMessage, AmiParser, amiAction, amiField } from '../telephony/asterisk-ami.js';

export interface AmiLogin {
  host: string;
  port: number;
  username: string;
  secret: string;
}

/** Why an Originate did not reach an answer: the OriginateResponse `Reason` (Asterisk's AST_CONTROL codes). */
export const ORIGINATE_REASONS: Record<string, string> = {
  '0': 'failed',
  '1': 'hung up',
  '3': 'no answer',
  '4': 'answered',
  '5': 'busy',
  '8': 'congestion',
};

export class AmiOriginateError extends Error {
  /** False when retrying cannot help (the PBX refused the action itself, e.g. no `originate` permission). */
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

/**
 * One Originate over a short-lived AMI connection: login, `Action: Originate` with `Async: true`, then the
 * `OriginateResponse` event with our ActionID, which Asterisk sends once the first channel answered or
 * failed (docs.asterisk.org … AMI_Actions/Originate; AMI_Events/OriginateResponse). Resolves with that event.
 */
export function amiOriginate(
  login: AmiLogin,
  action: Record<string, string>,
  waitMs: number,
): Promise<AmiMessage> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: login.host, port: login.port });
    const parser = new AmiParser(true);
    const actionId = action.ActionID;
    let state: 'banner' | 'login' | 'queued' | 'waiting' | 'done' = 'banner';
    const finish = (err: AmiOriginateError | null, result?: AmiMessage) => {
      if (state === 'done') return;
      state = 'done';
      clearTimeout(timer);
      socket.end(amiAction({ Action: 'Logoff' }));
      socket.destroy();
      if (err) reject(err);
      else resolve(result as AmiMessage);
    };
    const timer = setTimeout(
      () => finish(new AmiOriginateError(`no OriginateResponse within ${waitMs} ms`, true)),
      waitMs,
    );
    socket.on('error', (err) => finish(new AmiOriginateError(`AMI connection: ${err.message}`, true)));
    socket.on('close', () => finish(new AmiOriginateError('AMI connection closed before the result', true)));
    socket.on('data', (chunk: Buffer) => {
      let messages: AmiMessage[];
      try {
        messages = parser.push(chunk);
      } catch (err) {
        return finish(new AmiOriginateError((err as Error).message, true));
      }
      if (state === 'banner' && parser.banner !== null) {
        state = 'login';
        socket.write(
          amiAction({
            Action: 'Login',
            ActionID: `${actionId}-login`,
            Username: login.username,
            Secret: login.secret,
            // OriginateResponse is in the `call` class.
            Events: 'call',
          }),
        );
      }
      for (const m of messages) {
        if (state === 'login' && m.Response !== undefined) {
          if (m.Response.toLowerCase() !== 'success')
            return finish(new AmiOriginateError(`AMI login refused: ${m.Message ?? m.Response}`, true));
          state = 'queued';
          socket.write(amiAction(action));
        } else if (state === 'queued' && m.Response !== undefined && m.ActionID === actionId) {
          if (m.Response.toLowerCase() !== 'success')
            return finish(new AmiOriginateError(`Originate refused: ${m.Message ?? m.Response}`, false));
          state = 'waiting';
        } else if (m.Event === 'OriginateResponse' && amiField(m, 'ActionID') === actionId) {
          return finish(null, m);
        }
      }
    });
  });
}
