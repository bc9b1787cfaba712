import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { exampleFlowInput } from '../src/flows/example.js';
import { setupSite, type TestEnv, testEnv } from './helpers.js';

describe('call flow REST API', () => {
  let env: TestEnv;
  let siteId: string;
  let otherKey: string;
  const path = () => `/api/v1/sites/${siteId}/flows`;

  beforeAll(async () => {
    env = await testEnv();
    siteId = (await setupSite(env)).site.id;
    const other = await createAccount(env.db, env.clock, 'Other account');
    otherKey = (await createApiKey(env.db, env.clock, other, 'k')).key;
  });
  afterAll(() => env.close());

  const asOther = (method: 'GET' | 'PATCH' | 'DELETE' | 'POST', url: string, body?: unknown) =>
    env.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${otherKey}` },
      payload: body as object,
    });

  it('creates, lists, reads, updates and deletes flows; one default per site', async () => {
    const a = await env.api('POST', path(), { name: 'Офис', isDefault: true, flow: exampleFlowInput });
    expect(a.statusCode).toBe(201);
    expect(a.json()).toMatchObject({ name: 'Офис', isDefault: true, version: 1, siteId });
    // Defaults are filled in on save.
    expect(a.json().flow.nodes.vm).toEqual({
      kind: 'voicemail',
      prompt: 'Оставьте сообщение после сигнала',
      maxLengthSec: 120,
      next: 'bye',
    });
    env.clock.advanceMinutes(1); // the list is ordered by creation time
    const b = await env.api('POST', path(), {
      name: 'Ночь',
      flow: { start: 'vm', nodes: { vm: { kind: 'voicemail', prompt: 'Мы спим' } } },
    });
    expect(b.json()).toMatchObject({ isDefault: false, flow: { language: 'ru-RU' } });

    const made = await env.api('PATCH', `${path()}/${b.json().id}`, { isDefault: true, name: 'Ночной' });
    expect(made.json()).toMatchObject({ name: 'Ночной', isDefault: true, version: 2 });
    const list = (await env.api('GET', path())).json();
    expect(list.map((f: { name: string; isDefault: boolean }) => [f.name, f.isDefault])).toEqual([
      ['Офис', false],
      ['Ночной', true],
    ]);
    expect((await env.api('GET', `${path()}/${a.json().id}`)).json().flow.start).toBe('hours');

    expect((await env.api('DELETE', `${path()}/${a.json().id}`)).statusCode).toBe(204);
    expect((await env.api('GET', `${path()}/${a.json().id}`)).statusCode).toBe(404);
  });

  it('refuses a flow that cannot run, naming the node and field', async () => {
    const dangling = await env.api('POST', path(), {
      name: 'x',
      flow: {
        start: 'm',
        nodes: { m: { kind: 'menu', prompt: 'p', options: { '1': 'sales' }, onTimeout: 'm' } },
      },
    });
    expect(dangling.statusCode).toBe(400);
    expect(dangling.json()).toMatchObject({
      error: 'invalid_flow',
      message: 'body.flow.nodes.m.options.1: node "m" options.1 points to missing node "sales"',
    });
    expect(dangling.json().details[0]).toMatchObject({ node: 'm', field: 'body.flow.nodes.m.options.1' });

    const loop = await env.api('POST', path(), {
      name: 'x',
      flow: {
        start: 'a',
        nodes: { a: { kind: 'play', text: 'a', next: 'b' }, b: { kind: 'play', text: 'b', next: 'a' } },
      },
    });
    expect(loop.statusCode).toBe(400);
    expect(loop.json().message).toContain('loop without caller input: a → b → a');

    const shape = await env.api('POST', path(), {
      name: 'x',
      flow: {
        start: 'g',
        nodes: {
          g: {
            kind: 'ringGroup',
            strategy: 'sequential',
            targets: [{ kind: 'phone', number: '8916' }],
            next: 'g',
          },
        },
      },
    });
    expect(shape.statusCode).toBe(400);
    expect(shape.json().message).toContain('body.flow.nodes.g.targets.0.number');

    const existing = (await env.api('GET', path())).json()[0];
    const patch = await env.api('PATCH', `${path()}/${existing.id}`, {
      flow: { start: 'nope', nodes: { h: { kind: 'hangup' } } },
    });
    expect(patch.statusCode).toBe(400);
    expect(patch.json().message).toBe('body.flow.start: start node "nope" does not exist');
    expect((await env.api('GET', `${path()}/${existing.id}`)).json().version).toBe(existing.version);
  });

  it('hides one account’s flows from another', async () => {
    const flow = (await env.api('GET', path())).json()[0];
    expect((await asOther('GET', path())).statusCode).toBe(404);
    expect((await asOther('GET', `${path()}/${flow.id}`)).statusCode).toBe(404);
    expect((await asOther('PATCH', `${path()}/${flow.id}`, { name: 'mine' })).statusCode).toBe(404);
    expect((await asOther('DELETE', `${path()}/${flow.id}`)).statusCode).toBe(404);
    expect(
      (await asOther('POST', path(), { name: 'x', flow: { start: 'h', nodes: { h: { kind: 'hangup' } } } }))
        .statusCode,
    ).toBe(404);
    expect((await env.api('GET', `${path()}/${flow.id}`)).json().name).toBe(flow.name);
  });
});
