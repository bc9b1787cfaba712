import type { Endpoint } from '../flows/model.js';
import type { Cursor, Instruction } from '../flows/step.js';

/** A small XML tree: enough for TwiML, with every attribute and text escaped. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string | number | boolean | undefined>;
  children: Array<XmlElement | string>;
}

export function el(
  name: string,
  attrs: XmlElement['attrs'] = {},
  ...children: Array<XmlElement | string>
): XmlElement {
  return { name, attrs, children };
}

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

function renderElement(e: XmlElement, indent: string): string {
  const attrs = Object.entries(e.attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
  if (e.children.length === 0) return `${indent}<${e.name}${attrs}/>`;
  if (e.children.every((c) => typeof c === 'string')) {
    return `${indent}<${e.name}${attrs}>${escapeXml(e.children.join(''))}</${e.name}>`;
  }
  const inner = e.children
    .map((c) => (typeof c === 'string' ? `${indent}  ${escapeXml(c)}` : renderElement(c, `${indent}  `)))
    .join('\n');
  return `${indent}<${e.name}${attrs}>\n${inner}\n${indent}</${e.name}>`;
}

/** An XML document with a declaration, indented two spaces per level, ending in a newline. */
export function renderXml(root: XmlElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${renderElement(root, '')}\n`;
}

/** Where TwiML verbs send their results; the cursor rides in the URL as a signed token. */
export interface TwimlUrls {
  gather(cursor: Cursor): string;
  dial(cursor: Cursor): string;
  voicemail(cursor: Cursor): string;
  recording: string;
  /** TwiML the answering employee hears before being connected (whisper). */
  whisper: string;
  /** Where each dialed endpoint's leg reports its progress (status callback of <Number>/<Sip>). */
  legStatus(target: Endpoint): string;
}

/**
 * Renders the instructions of one `step()` as a TwiML document (Twilio, SignalWire cXML, Telnyx TeXML).
 * `cursor` is where the call waits after the blocking instruction; it goes into that verb's action URL.
 */
export function renderTwiml(instructions: Instruction[], cursor: Cursor | null, urls: TwimlUrls): string {
  const verbs: XmlElement[] = [];
  const need = (what: string) => {
    if (!cursor) throw new Error(`${what} needs a cursor`);
    return cursor;
  };
  for (const ins of instructions) {
    switch (ins.op) {
      case 'say':
        verbs.push(el('Say', { language: ins.language }, ins.text));
        break;
      case 'gather': {
        const action = urls.gather(need('gather'));
        verbs.push(
          el(
            'Gather',
            { input: 'dtmf', numDigits: ins.numDigits, timeout: ins.timeoutSec, action, method: 'POST' },
            el('Say', { language: ins.language }, ins.prompt),
          ),
        );
        // No key pressed: Twilio falls through to the next verb, which reports the timeout.
        verbs.push(el('Redirect', { method: 'POST' }, action));
        break;
      }
      case 'dial':
        verbs.push(
          el(
            'Dial',
            {
              action: urls.dial(need('dial')),
              method: 'POST',
              timeout: ins.timeoutSec,
              answerOnBridge: true,
              record: ins.record ? 'record-from-answer-dual' : undefined,
              recordingStatusCallback: ins.record ? urls.recording : undefined,
              recordingStatusCallbackMethod: ins.record ? 'POST' : undefined,
            },
            ...ins.targets.map((t) => {
              // Twilio runs `url` on the callee's leg once they answer, while the caller still hears ringing.
              const whisper = ins.whisper ? { url: urls.whisper, method: 'POST' } : {};
              // Per-endpoint progress makes each employee rung a leg of the call
              // (https://www.twilio.com/docs/voice/twiml/number: statusCallbackEvent, statusCallback).
              const attrs = {
                ...whisper,
                statusCallbackEvent: 'initiated ringing answered completed',
                statusCallback: urls.legStatus(t),
                statusCallbackMethod: 'POST',
              };
              return t.kind === 'phone' ? el('Number', attrs, t.number) : el('Sip', attrs, t.uri);
            }),
          ),
        );
        break;
      case 'record':
        verbs.push(el('Say', { language: ins.language }, ins.prompt));
        verbs.push(
          el('Record', {
            maxLength: ins.maxLengthSec,
            playBeep: true,
            action: urls.voicemail(need('record')),
            method: 'POST',
            recordingStatusCallback: urls.recording,
            recordingStatusCallbackMethod: 'POST',
          }),
        );
        break;
      case 'hangup':
        verbs.push(el('Hangup'));
        break;
    }
  }
  return renderXml(el('Response', {}, ...verbs));
}
