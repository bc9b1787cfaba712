import { describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../telephony/event-log.js';
import { callbackChannelId, callbackLeadOfAmiCall, callbackLegEvent } from './asterisk-legs.js';

const LEAD = '5b0e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const leg = callbackChannelId(LEAD, 1);
const event = (type: ProviderEvent['type'], payload: Record<string, unknown>): ProviderEvent => ({
  key: `${type}:${leg}`,
  providerCallId: leg,
  type,
  occurredAt: new Date('2026-11-02T07:00:00Z'),
  payload,
});

describe('AMI events of a callback leg', () => {
  it('recognizes only our channel ids', () => {
    expect(leg).toBe(`ringtrace-cb-${LEAD}-1`);
    expect(callbackLeadOfAmiCall(leg)).toBe(LEAD);
    expect(callbackLeadOfAmiCall('1762066800.42')).toBeNull();
    expect(callbackLeadOfAmiCall('ringtrace-cb-not-a-uuid-1')).toBeNull();
  });

  it('moves answer and end to the callback call without the trunk as employee', () => {
    expect(
      callbackLegEvent(event('call.answered', { employee: 'PJSIP/provider', answeredAt: 'x' }), LEAD, true),
    ).toEqual({
      ...event('call.answered', {}),
      providerCallId: `callback:${LEAD}`,
      payload: { answeredAt: 'x' },
    });
    expect(callbackLegEvent(event('call.ended', { status: 'completed' }), LEAD, true)?.payload).toEqual({
      status: 'completed',
    });
  });

  it('an unanswered end is missed; a leg that never dialed the visitor ends nothing; starts are dropped', () => {
    expect(callbackLegEvent(event('call.ended', { status: 'busy' }), LEAD, true)?.payload).toEqual({
      status: 'no-answer',
    });
    expect(callbackLegEvent(event('call.ended', { status: 'no-answer' }), LEAD, false)).toBeNull();
    expect(callbackLegEvent(event('call.started', { from: '101', to: null }), LEAD, true)).toBeNull();
  });
});
