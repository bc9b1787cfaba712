import { callDetail } from '../calls/view.js';
import type { Db, Queryable } from '../db/db.js';

/*
 * The live call stream behind the caller card (карточка звонящего): every change of a call is announced
 * with NOTIFY on commit, each server process LISTENs once, builds the card and fans it out to the
 * account's open streams. Through PostgreSQL the announcement reaches every process sharing the
 * database, so an operator connected to one process sees calls that a telephony webhook delivered to
 * another; on PGlite (one process) the same code runs in-process.
 */

export const CALL_CHANNEL = 'ringtrace_calls';

interface CallNotice {
  accountId: string;
  callId: string;
}

/** Announces a changed call; inside the writing transaction the notice goes out only if it commits. */
export async function announceCall(q: Queryable, accountId: string, callId: string): Promise<void> {
  await q.query('SELECT pg_notify($1, $2)', [
    CALL_CHANNEL,
    JSON.stringify({ accountId, callId } satisfies CallNotice),
  ]);
}

export type CallCard = NonNullable<Awaited<ReturnType<typeof callDetail>>>;

interface Subscriber {
  accountId: string;
  siteId: string | null;
  send: (card: CallCard) => void;
  /** Ends the subscriber's response when the server shuts down. */
  end: () => void;
}

export interface CallStreamHub {
  /** Starts listening on the first subscriber; resolves to the unsubscribe function. */
  subscribe(sub: Subscriber): Promise<() => void>;
  close(): Promise<void>;
}

export function callStreamHub(db: Db, log?: { warn: (obj: object, msg?: string) => void }): CallStreamHub {
  const subscribers = new Set<Subscriber>();
  let listening: Promise<() => Promise<void>> | null = null;

  const deliver = async (payload: string) => {
    let notice: CallNotice;
    try {
      notice = JSON.parse(payload) as CallNotice;
    } catch {
      return;
    }
    const wanted = [...subscribers].filter((s) => s.accountId === notice.accountId);
    if (wanted.length === 0) return;
    // One card per notice, whatever the number of viewers; accounts of another schema find nothing.
    const card = await callDetail(db, notice.accountId, notice.callId).catch((err) => {
      log?.warn({ err, callId: notice.callId }, 'caller card lookup failed');
      return null;
    });
    if (!card) return;
    for (const s of wanted) if (s.siteId === null || s.siteId === card.siteId) s.send(card);
  };

  return {
    async subscribe(sub) {
      listening ??= db.listen(CALL_CHANNEL, (payload) => void deliver(payload));
      await listening;
      subscribers.add(sub);
      return () => subscribers.delete(sub);
    },
    async close() {
      for (const s of subscribers) s.end();
      subscribers.clear();
      const unlisten = listening;
      listening = null;
      if (unlisten) await (await unlisten)();
    },
  };
}
