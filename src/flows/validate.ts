import type { Flow, FlowNode } from './model.js';

/** One problem of a flow, naming the node and the field at fault. */
export interface FlowIssue {
  node: string | null;
  field: string;
  message: string;
}

/** The node references of one node, with the field each comes from. */
export function nodeLinks(node: FlowNode): Array<{ field: string; to: string }> {
  switch (node.kind) {
    case 'schedule':
      return [
        { field: 'open', to: node.open },
        { field: 'closed', to: node.closed },
        ...(node.holiday ? [{ field: 'holiday', to: node.holiday }] : []),
      ];
    case 'menu':
      return [
        ...Object.entries(node.options).map(([key, to]) => ({ field: `options.${key}`, to })),
        { field: 'onTimeout', to: node.onTimeout },
        ...(node.onInvalid ? [{ field: 'onInvalid', to: node.onInvalid }] : []),
      ];
    case 'ringGroup':
    case 'play':
      return [{ field: 'next', to: node.next }];
    case 'forward':
    case 'voicemail':
      return node.next ? [{ field: 'next', to: node.next }] : [];
    case 'hangup':
      return [];
  }
}

/**
 * Checks what the schema cannot: a start node that exists, no dangling references, every node reachable
 * from the start, and no loop the call could go round without the caller pressing a key (only a menu
 * waits for input, so every cycle must pass through one).
 */
export function validateFlow(flow: Flow): FlowIssue[] {
  const issues: FlowIssue[] = [];
  const nodes = flow.nodes;
  const exists = (id: string) => Object.hasOwn(nodes, id);
  if (!exists(flow.start)) {
    issues.push({ node: null, field: 'start', message: `start node "${flow.start}" does not exist` });
  }
  for (const [id, node] of Object.entries(nodes)) {
    for (const link of nodeLinks(node)) {
      if (!exists(link.to)) {
        issues.push({
          node: id,
          field: `nodes.${id}.${link.field}`,
          message: `node "${id}" ${link.field} points to missing node "${link.to}"`,
        });
      }
    }
  }
  if (issues.length > 0) return issues;

  const reached = new Set<string>([flow.start]);
  const queue = [flow.start];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    for (const link of nodeLinks(nodes[id])) {
      if (!reached.has(link.to)) {
        reached.add(link.to);
        queue.push(link.to);
      }
    }
  }
  for (const id of Object.keys(nodes)) {
    if (!reached.has(id)) {
      issues.push({ node: id, field: `nodes.${id}`, message: `node "${id}" is unreachable from start` });
    }
  }

  // Cycles among nodes that take no input: depth-first search over the non-menu subgraph.
  const state = new Map<string, 'active' | 'done'>();
  const path: string[] = [];
  const reported = new Set<string>();
  const visit = (id: string) => {
    state.set(id, 'active');
    path.push(id);
    for (const link of nodeLinks(nodes[id])) {
      if (nodes[link.to].kind === 'menu') continue;
      const s = state.get(link.to);
      if (s === 'active') {
        const cycle = [...path.slice(path.indexOf(link.to)), link.to];
        const key = [...new Set(cycle)].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          issues.push({
            node: id,
            field: `nodes.${id}.${link.field}`,
            message: `loop without caller input: ${cycle.join(' → ')} (a loop must pass through a menu)`,
          });
        }
      } else if (s === undefined) {
        visit(link.to);
      }
    }
    path.pop();
    state.set(id, 'done');
  };
  for (const id of Object.keys(nodes)) {
    if (nodes[id].kind !== 'menu' && !state.has(id)) visit(id);
  }
  return issues;
}
