import { localTime } from '../time/zone.js';
import type { Endpoint, Flow, FlowNode, Target } from './model.js';

/** Where a call waits in a flow: the node whose blocking instruction is pending. */
export interface Cursor {
  node: string;
  /** Menu: how many times the prompt has been repeated. */
  attempt?: number;
  /** Sequential ring group: the index of the member being rung. */
  member?: number;
}

/** What happened to the pending instruction. `start` enters the flow (the cursor is ignored). */
export type StepInput =
  | { kind: 'start' }
  | { kind: 'digits'; digits: string }
  | { kind: 'timeout' }
  | { kind: 'dial'; status: 'answered' | 'no-answer' | 'busy' | 'failed' | 'canceled' }
  | { kind: 'recorded' };

/** A provider-neutral instruction; renderers turn a list of them into TwiML, a dial string, etc. */
export type Instruction =
  | { op: 'say'; text: string; language: string }
  | { op: 'gather'; prompt: string; language: string; numDigits: 1; timeoutSec: number }
  | {
      op: 'dial';
      targets: Endpoint[];
      timeoutSec: number;
      record: boolean;
      /** The callee hears where the call came from before being connected. */
      whisper: boolean;
    }
  | { op: 'record'; prompt: string; language: string; maxLengthSec: number }
  | { op: 'hangup' };

export interface StepResult {
  /** Zero or more `say`s, then one blocking instruction (gather, dial, record) or a hangup. */
  instructions: Instruction[];
  /** Where the next input goes; null once the call is hung up. */
  cursor: Cursor | null;
  /** Set when a dial was answered: who took the call. */
  connected?: { group: string | null; employee: string | null };
}

export class StepError extends Error {}

export interface StepContext {
  now: Date;
  /** The site's time zone, used by schedules without their own. */
  timeZone: string;
}

/**
 * The pure call-flow engine: given where the call waits and what happened, returns what to do next and
 * where the call will wait then. Schedules and play nodes are passed through inline, so every result ends
 * in something that waits for the caller or the callee (or hangs up).
 */
export function step(flow: Flow, cursor: Cursor | null, input: StepInput, ctx: StepContext): StepResult {
  if (input.kind === 'start' || cursor === null) return enter(flow, flow.start, ctx, []);
  const node = flow.nodes[cursor.node];
  if (!node) throw new StepError(`node "${cursor.node}" no longer exists in the flow`);
  switch (node.kind) {
    case 'menu': {
      const attempt = cursor.attempt ?? 0;
      if (input.kind === 'digits' && input.digits !== '') {
        const to = node.options[input.digits[0]];
        if (to !== undefined) return enter(flow, to, ctx, []);
        if (attempt < node.repeat) return gather(flow, cursor.node, node, attempt + 1);
        return enter(flow, node.onInvalid ?? node.onTimeout, ctx, []);
      }
      if (input.kind === 'timeout' || input.kind === 'digits') {
        if (attempt < node.repeat) return gather(flow, cursor.node, node, attempt + 1);
        return enter(flow, node.onTimeout, ctx, []);
      }
      break;
    }
    case 'ringGroup':
    case 'forward': {
      if (input.kind !== 'dial') break;
      if (input.status === 'answered') {
        const member = cursor.member ?? 0;
        const target =
          node.kind === 'forward'
            ? ({ kind: 'phone', number: node.number } as Endpoint)
            : node.strategy === 'sequential' || node.targets.length === 1
              ? endpoint(node.targets[member])
              : undefined;
        return {
          instructions: [{ op: 'hangup' }],
          cursor: null,
          connected: {
            group: node.kind === 'ringGroup' ? (node.name ?? cursor.node) : null,
            employee: target ? targetLabel(target) : null,
          },
        };
      }
      // The caller hung up while it rang: nothing more to do.
      if (input.status === 'canceled') return { instructions: [{ op: 'hangup' }], cursor: null };
      if (node.kind === 'ringGroup' && node.strategy === 'sequential') {
        const member = (cursor.member ?? 0) + 1;
        if (member < node.targets.length) return dialMember(cursor.node, node, member);
      }
      return node.next ? enter(flow, node.next, ctx, []) : hangup([]);
    }
    case 'voicemail':
      if (input.kind !== 'recorded') break;
      return node.next ? enter(flow, node.next, ctx, []) : hangup([]);
    default:
      break;
  }
  throw new StepError(`node "${cursor.node}" (${node.kind}) does not take ${input.kind} input`);
}

/** The name an answered target is reported under. */
export function targetLabel(t: Endpoint): string {
  return t.name ?? (t.kind === 'phone' ? t.number : t.uri);
}

/** Flows reach step() with employees resolved to endpoints (directory.ts); anything else is a bug. */
function endpoint(t: Target): Endpoint {
  if (t.kind === 'employee') throw new StepError(`employee ${t.employeeId} was not resolved to endpoints`);
  return t;
}

function hangup(says: Instruction[]): StepResult {
  return { instructions: [...says, { op: 'hangup' }], cursor: null };
}

function gather(flow: Flow, id: string, node: Extract<FlowNode, { kind: 'menu' }>, attempt: number) {
  return {
    instructions: [
      {
        op: 'gather',
        prompt: node.prompt,
        language: flow.language,
        numDigits: 1,
        timeoutSec: node.timeoutSec,
      } as const,
    ],
    cursor: attempt > 0 ? { node: id, attempt } : { node: id },
  };
}

function dialMember(id: string, node: Extract<FlowNode, { kind: 'ringGroup' }>, member: number): StepResult {
  return {
    instructions: [
      {
        op: 'dial',
        targets: [endpoint(node.targets[member])],
        timeoutSec: node.ringTimeoutSec,
        record: node.record,
        whisper: node.whisper,
      },
    ],
    cursor: { node: id, member },
  };
}

function enter(flow: Flow, start: string, ctx: StepContext, says: Instruction[]): StepResult {
  let id = start;
  // Validation forbids loops without a menu; the bound keeps an unvalidated flow from spinning.
  for (let hops = 0; hops <= Object.keys(flow.nodes).length; hops++) {
    const node = flow.nodes[id];
    if (!node) throw new StepError(`node "${id}" does not exist in the flow`);
    switch (node.kind) {
      case 'schedule':
        id = scheduleBranch(node, ctx);
        continue;
      case 'play':
        says.push({ op: 'say', text: node.text, language: flow.language });
        id = node.next;
        continue;
      case 'menu': {
        const g = gather(flow, id, node, 0);
        return { instructions: [...says, ...g.instructions], cursor: g.cursor };
      }
      case 'ringGroup': {
        // Nobody to ring (the whole group is unavailable): on to where an unanswered group goes.
        if (node.targets.length === 0) {
          id = node.next;
          continue;
        }
        if (node.strategy === 'sequential') {
          const d = dialMember(id, node, 0);
          return { instructions: [...says, ...d.instructions], cursor: d.cursor };
        }
        return {
          instructions: [
            ...says,
            {
              op: 'dial',
              targets: node.targets.map(endpoint),
              timeoutSec: node.ringTimeoutSec,
              record: node.record,
              whisper: node.whisper,
            },
          ],
          cursor: { node: id },
        };
      }
      case 'forward':
        return {
          instructions: [
            ...says,
            {
              op: 'dial',
              targets: [{ kind: 'phone', number: node.number }],
              timeoutSec: node.timeoutSec,
              record: node.record,
              whisper: node.whisper,
            },
          ],
          cursor: { node: id },
        };
      case 'voicemail':
        return {
          instructions: [
            ...says,
            { op: 'record', prompt: node.prompt, language: flow.language, maxLengthSec: node.maxLengthSec },
          ],
          cursor: { node: id },
        };
      case 'hangup':
        return hangup(says);
    }
  }
  throw new StepError(`loop without caller input starting at node "${start}"`);
}

/** Open when the local weekday is listed and from ≤ time < to; holidays are closed all day. */
export function scheduleBranch(node: Extract<FlowNode, { kind: 'schedule' }>, ctx: StepContext): string {
  const local = localTime(ctx.now, node.timeZone ?? ctx.timeZone);
  if (node.holidays.includes(local.date)) return node.holiday ?? node.closed;
  const open = node.hours.some(
    (h) => h.days.includes(local.weekday) && h.from <= local.hhmm && local.hhmm < h.to,
  );
  return open ? node.open : node.closed;
}
