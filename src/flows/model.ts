import { z } from 'zod';
import { timeZoneName } from '../http/validate.js';

/**
 * The provider-neutral call-flow model (DESIGN §6, reference/telephony.md §7): a graph of nodes keyed by
 * id, entered at `start`. It is stepped by the pure `step()` and rendered per provider (TwiML today).
 */

export const nodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"');

const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +74951234567');
const sipUri = z
  .string()
  .max(300)
  .regex(/^sips?:[^\s<>"]+@[^\s<>"]+$/, 'must be a SIP URI such as sip:101@pbx.example.com');
const hhmm = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be HH:MM (00:00-24:00)');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const text = z.string().min(1).max(1000);

/** An endpoint dialled directly: a phone number or a SIP URI (employees' endpoints have this form too). */
export const endpointSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('phone'), number: e164, name: z.string().min(1).max(200).optional() }).strict(),
  z.object({ kind: z.literal('sip'), uri: sipUri, name: z.string().min(1).max(200).optional() }).strict(),
]);

/**
 * What a ring group dials: an endpoint, or an employee of the account (all their endpoints, while they
 * are available). Employees are resolved to endpoints when the flow is loaded for a call (directory.ts).
 */
export const targetSchema = z.union([
  endpointSchema,
  z.object({ kind: z.literal('employee'), employeeId: z.uuid() }).strict(),
]);

const hoursSchema = z
  .object({
    /** ISO weekdays: 1 = Monday … 7 = Sunday. */
    days: z.array(z.number().int().min(1).max(7)).min(1).max(7),
    from: hhmm,
    to: hhmm,
  })
  .strict()
  .refine((h) => h.from < h.to, { message: '"from" must be before "to"', path: ['to'] });

export const scheduleNode = z
  .object({
    kind: z.literal('schedule'),
    /** Overrides the site's time zone for this schedule. */
    timeZone: timeZoneName.optional(),
    hours: z.array(hoursSchema).max(50),
    /** Local dates (in the schedule's time zone) treated as closed all day. */
    holidays: z.array(isoDate).max(366).default([]),
    open: nodeId,
    closed: nodeId,
    /** Where holidays go; defaults to `closed`. */
    holiday: nodeId.optional(),
  })
  .strict();

const digit = z.string().regex(/^[0-9*#]$/, 'must be one key: 0-9, * or #');

export const menuNode = z
  .object({
    kind: z.literal('menu'),
    prompt: text,
    options: z.record(digit, nodeId).refine((o) => Object.keys(o).length > 0, 'needs at least one option'),
    timeoutSec: z.number().int().min(1).max(30).default(5),
    /** How many times the prompt is repeated after no input or a wrong key before giving up. */
    repeat: z.number().int().min(0).max(5).default(0),
    onTimeout: nodeId,
    /** Where an unknown key goes once repeats are used up; defaults to `onTimeout`. */
    onInvalid: nodeId.optional(),
  })
  .strict();

export const ringGroupNode = z
  .object({
    kind: z.literal('ringGroup'),
    /** Reported as the call's group when someone in it answers; defaults to the node id. */
    name: z.string().min(1).max(200).optional(),
    strategy: z.enum(['simultaneous', 'sequential']),
    targets: z.array(targetSchema).max(10).default([]),
    /** An employee group of the account: its available members are rung after `targets`. */
    groupId: z.uuid().optional(),
    /** Per member (sequential) or for the whole group (simultaneous). */
    ringTimeoutSec: z.number().int().min(5).max(120).default(20),
    record: z.boolean().default(false),
    /** Before connecting, the employee hears where the call came from (source, campaign, keyword). */
    whisper: z.boolean().default(false),
    /** Where the call goes when nobody answers, or when nobody in the group is available. */
    next: nodeId,
  })
  .strict()
  .refine((n) => n.targets.length > 0 || n.groupId !== undefined, {
    message: 'needs targets or a groupId',
    path: ['targets'],
  });

export const forwardNode = z
  .object({
    kind: z.literal('forward'),
    number: e164,
    timeoutSec: z.number().int().min(5).max(120).default(30),
    record: z.boolean().default(false),
    whisper: z.boolean().default(false),
    /** Where the call goes when the number does not answer; hang up when absent. */
    next: nodeId.optional(),
  })
  .strict();

export const voicemailNode = z
  .object({
    kind: z.literal('voicemail'),
    prompt: text,
    maxLengthSec: z.number().int().min(5).max(600).default(120),
    next: nodeId.optional(),
  })
  .strict();

export const playNode = z.object({ kind: z.literal('play'), text, next: nodeId }).strict();

export const hangupNode = z.object({ kind: z.literal('hangup') }).strict();

export const flowNodeSchema = z.discriminatedUnion('kind', [
  scheduleNode,
  menuNode,
  ringGroupNode,
  forwardNode,
  voicemailNode,
  playNode,
  hangupNode,
]);

export const flowSchema = z
  .object({
    start: nodeId,
    /** Language of spoken prompts (BCP 47). */
    language: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'must be a language tag such as ru-RU')
      .default('ru-RU'),
    nodes: z.record(nodeId, flowNodeSchema).refine((n) => Object.keys(n).length <= 200, 'at most 200 nodes'),
  })
  .strict();

export type Endpoint = z.infer<typeof endpointSchema>;
export type Target = z.infer<typeof targetSchema>;
export type FlowNode = z.infer<typeof flowNodeSchema>;
export type Flow = z.infer<typeof flowSchema>;
export type FlowInput = z.input<typeof flowSchema>;
