import { describe, expect, it } from 'vitest';
import { exampleFlowInput } from './example.js';
import { type FlowInput, flowSchema } from './model.js';
import { validateFlow } from './validate.js';

const check = (input: FlowInput) => validateFlow(flowSchema.parse(input));

describe('validateFlow', () => {
  it('accepts the example flow, including a menu that loops back to itself', () => {
    expect(check(exampleFlowInput)).toEqual([]);
    expect(
      check({
        start: 'm',
        nodes: {
          m: { kind: 'menu', prompt: 'p', options: { '1': 'say' }, onTimeout: 'm' },
          say: { kind: 'play', text: 'x', next: 'm' },
        },
      }),
    ).toEqual([]);
  });

  it('names a missing start node', () => {
    expect(check({ start: 'nope', nodes: { h: { kind: 'hangup' } } })).toEqual([
      { node: null, field: 'start', message: 'start node "nope" does not exist' },
    ]);
  });

  it('names every dangling reference by node and field', () => {
    const issues = check({
      start: 'm',
      nodes: {
        m: {
          kind: 'menu',
          prompt: 'p',
          options: { '1': 'g', '2': 'ghost' },
          onTimeout: 'g',
          onInvalid: 'nowhere',
        },
        g: {
          kind: 'ringGroup',
          strategy: 'sequential',
          targets: [{ kind: 'phone', number: '+79160000000' }],
          next: 'vm',
        },
      },
    });
    expect(issues).toEqual([
      { node: 'm', field: 'nodes.m.options.2', message: 'node "m" options.2 points to missing node "ghost"' },
      {
        node: 'm',
        field: 'nodes.m.onInvalid',
        message: 'node "m" onInvalid points to missing node "nowhere"',
      },
      { node: 'g', field: 'nodes.g.next', message: 'node "g" next points to missing node "vm"' },
    ]);
  });

  it('names unreachable nodes', () => {
    expect(
      check({ start: 'a', nodes: { a: { kind: 'hangup' }, orphan: { kind: 'play', text: 'x', next: 'a' } } }),
    ).toEqual([
      { node: 'orphan', field: 'nodes.orphan', message: 'node "orphan" is unreachable from start' },
    ]);
  });

  it('refuses loops that pass through no menu, naming the nodes on the loop', () => {
    const issues = check({
      start: 's',
      nodes: {
        s: { kind: 'schedule', hours: [], open: 'g', closed: 'vm' },
        g: {
          kind: 'ringGroup',
          strategy: 'simultaneous',
          targets: [{ kind: 'sip', uri: 'sip:1@pbx' }],
          next: 'vm',
        },
        vm: { kind: 'voicemail', prompt: 'x', next: 'again' },
        again: { kind: 'play', text: 'ещё раз', next: 'g' },
      },
    });
    expect(issues).toEqual([
      {
        node: 'again',
        field: 'nodes.again.next',
        message: 'loop without caller input: g → vm → again → g (a loop must pass through a menu)',
      },
    ]);
  });

  it('refuses a node that points to itself', () => {
    expect(check({ start: 'p', nodes: { p: { kind: 'play', text: 'x', next: 'p' } } })[0].message).toBe(
      'loop without caller input: p → p (a loop must pass through a menu)',
    );
  });

  it('leaves shape errors to the schema, with paths naming the node', () => {
    const r = flowSchema.safeParse({
      start: 'g',
      nodes: {
        g: {
          kind: 'ringGroup',
          strategy: 'sequential',
          targets: [{ kind: 'phone', number: '8916' }],
          next: 'g',
        },
        s: { kind: 'schedule', hours: [{ days: [8], from: '19:00', to: '09:00' }], open: 'g', closed: 'g' },
      },
    });
    expect(r.success).toBe(false);
    const paths = r.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['nodes.g.targets.0.number', 'nodes.s.hours.0.days.0', 'nodes.s.hours.0.to']),
    );
  });
});
