/** A whole call as a PBX reports it to the generic webhook (simulator, tests). */
export interface WholeCall {
  callId: string;
  from: string;
  to: string;
  /** When the call starts ringing (ms since epoch). */
  at: number;
  answered: boolean;
  waitSeconds: number;
  talkSeconds: number;
  employee?: string;
  group?: string;
}

/** The call's generic-webhook events: started, answered after the wait, ended after the talk (or unanswered). */
export function wholeCallEvents(call: WholeCall): Record<string, unknown>[] {
  const iso = (seconds: number) => new Date(call.at + seconds * 1000).toISOString();
  const { callId } = call;
  const events: Record<string, unknown>[] = [
    {
      id: `${callId}:started`,
      type: 'call.started',
      callId,
      occurredAt: iso(0),
      from: call.from,
      to: call.to,
    },
  ];
  if (!call.answered) {
    events.push({
      id: `${callId}:ended`,
      type: 'call.ended',
      callId,
      occurredAt: iso(call.waitSeconds),
      status: 'no-answer',
    });
    return events;
  }
  events.push({
    id: `${callId}:answered`,
    type: 'call.answered',
    callId,
    occurredAt: iso(call.waitSeconds),
    ...(call.employee ? { employee: call.employee } : {}),
    ...(call.group ? { group: call.group } : {}),
  });
  events.push({
    id: `${callId}:ended`,
    type: 'call.ended',
    callId,
    occurredAt: iso(call.waitSeconds + call.talkSeconds),
    status: 'completed',
  });
  return events;
}
