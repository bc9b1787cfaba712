import { describe, expect, it } from 'vitest';
import { exampleFlow as flow } from '../flows/example.js';
import type { Endpoint } from '../flows/model.js';
import { type Cursor, type StepInput, step } from '../flows/step.js';
import { el, renderTwiml, renderXml } from './twiml.js';

const q = (c: Cursor) =>
  `node=${c.node}${c.attempt !== undefined ? `&attempt=${c.attempt}` : ''}${c.member !== undefined ? `&member=${c.member}` : ''}`;
const urls = {
  gather: (c: Cursor) => `https://ct.example/gather?${q(c)}`,
  dial: (c: Cursor) => `https://ct.example/dial?${q(c)}`,
  voicemail: (c: Cursor) => `https://ct.example/vm?${q(c)}`,
  recording: 'https://ct.example/recording',
  whisper: 'https://ct.example/whisper',
  legStatus: (t: Endpoint) => `https://ct.example/status?to=${t.kind === 'phone' ? t.number : t.uri}`,
};
const monday10 = { now: new Date('2026-11-02T07:00:00Z'), timeZone: 'Europe/Moscow' };
const render = (cursor: Cursor | null, input: StepInput) => {
  const r = step(flow, cursor, input, monday10);
  return renderTwiml(r.instructions, r.cursor, urls);
};

/** The expected documents are written out in full: they are what Twilio executes. */
describe('TwiML rendering of the example flow', () => {
  it('opens with the menu during working hours', () => {
    expect(render(null, { kind: 'start' })).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather input="dtmf" numDigits="1" timeout="5" action="https://ct.example/gather?node=menu" method="POST">
    <Say language="ru-RU">Отдел продаж — 1, сервис — 2</Say>
  </Gather>
  <Redirect method="POST">https://ct.example/gather?node=menu</Redirect>
</Response>
`);
  });

  it('rings the sales group simultaneously, recorded', () => {
    expect(
      render({ node: 'menu' }, { kind: 'digits', digits: '1' }),
    ).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Dial action="https://ct.example/dial?node=sales" method="POST" timeout="20" answerOnBridge="true" record="record-from-answer-dual" recordingStatusCallback="https://ct.example/recording" recordingStatusCallbackMethod="POST">
    <Number statusCallbackEvent="initiated ringing answered completed" statusCallback="https://ct.example/status?to=+79161112233" statusCallbackMethod="POST">+79161112233</Number>
    <Sip statusCallbackEvent="initiated ringing answered completed" statusCallback="https://ct.example/status?to=sip:101@pbx.example.com" statusCallbackMethod="POST">sip:101@pbx.example.com</Sip>
  </Dial>
</Response>
`);
  });

  it('rings the service group one member per <Dial>', () => {
    expect(
      render({ node: 'menu' }, { kind: 'digits', digits: '2' }),
    ).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Dial action="https://ct.example/dial?node=service&amp;member=0" method="POST" timeout="15" answerOnBridge="true">
    <Number statusCallbackEvent="initiated ringing answered completed" statusCallback="https://ct.example/status?to=+79035550007" statusCallbackMethod="POST">+79035550007</Number>
  </Dial>
</Response>
`);
    expect(
      render({ node: 'service', member: 0 }, { kind: 'dial', status: 'no-answer' }),
    ).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Dial action="https://ct.example/dial?node=service&amp;member=1" method="POST" timeout="15" answerOnBridge="true">
    <Number statusCallbackEvent="initiated ringing answered completed" statusCallback="https://ct.example/status?to=+79035550009" statusCallbackMethod="POST">+79035550009</Number>
  </Dial>
</Response>
`);
  });

  it('takes a voicemail when nobody in the group answers, then hangs up', () => {
    expect(
      render({ node: 'service', member: 1 }, { kind: 'dial', status: 'busy' }),
    ).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say language="ru-RU">Оставьте сообщение после сигнала</Say>
  <Record maxLength="120" playBeep="true" action="https://ct.example/vm?node=vm" method="POST" recordingStatusCallback="https://ct.example/recording" recordingStatusCallbackMethod="POST"/>
</Response>
`);
    expect(render({ node: 'vm' }, { kind: 'recorded' })).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Hangup/>
</Response>
`);
  });

  it('speaks the holiday message before the voicemail', () => {
    const r = step(flow, null, { kind: 'start' }, { ...monday10, now: new Date('2027-01-01T10:00:00Z') });
    expect(renderTwiml(r.instructions, r.cursor, urls)).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say language="ru-RU">С праздником! Мы отдыхаем.</Say>
  <Say language="ru-RU">Оставьте сообщение после сигнала</Say>
  <Record maxLength="120" playBeep="true" action="https://ct.example/vm?node=vm" method="POST" recordingStatusCallback="https://ct.example/recording" recordingStatusCallbackMethod="POST"/>
</Response>
`);
  });
});

describe('XML builder', () => {
  it('escapes text and attributes', () => {
    expect(
      renderXml(el('Response', {}, el('Say', { voice: `a"b'<&>` }, `Tom & Jerry <b>"quoted"</b>`))),
    ).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say voice="a&quot;b&apos;&lt;&amp;&gt;">Tom &amp; Jerry &lt;b&gt;&quot;quoted&quot;&lt;/b&gt;</Say>
</Response>
`);
  });
});
