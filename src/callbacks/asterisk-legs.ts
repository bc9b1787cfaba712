import type { ProviderEvent } from '../telephony/event-log.js';
import { callbackCallId } from './request.js';

/*
 * The AMI side of an Asterisk callback. The originate job names the employee's channel itself
 * (`ChannelId`), so the PBX's events for that call — its Linkedid — say which callback they belong to, and
 * the AMI connection (src/telephony/asterisk.ts) passes them here instead of the inbound-call path.
 */

const PREFIX = 'ringtrace-cb-';

/** The `ChannelId` (Uniqueid, hence Linkedid) of the callback's `index`-th employee leg. */
export const callbackChannelId = (leadId: string, index: number) => `${PREFIX}${leadId}-${index}`;

const CHANNEL_ID = /^ringtrace-cb-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-\d{1,3}$/;

/** The lead of a callback's AMI call id, or null for any other call. */
export function callbackLeadOfAmiCall(linkedid: string): string | null {
  return linkedid.startsWith(PREFIX) ? (CHANNEL_ID.exec(linkedid)?.[1] ?? null) : null;
}

/**
 * A tracked AMI event of a callback's employee leg as an event of the callback's call, or null to drop it.
 * The leg's own start is not the call's (the job logged that), and its "employee" is the trunk that dialed
 * the visitor, so both are left out. `dialed` says whether the leg got as far as dialing the visitor: an
 * employee who never answered leaves the call to the next employee's leg, so that leg's hang-up ends nothing.
 * An unanswered end is a missed callback whatever the dial status.
 */
export function callbackLegEvent(e: ProviderEvent, leadId: string, dialed: boolean): ProviderEvent | null {
  if (e.type === 'call.started') return null;
  if (e.type === 'call.ended' && !dialed) return null;
  const { employee: _trunk, ...payload } = e.payload as Record<string, unknown>;
  if (e.type === 'call.ended' && payload.status !== 'completed') payload.status = 'no-answer';
  return { ...e, providerCallId: callbackCallId(leadId), payload };
}
