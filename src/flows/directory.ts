import type { Queryable } from '../db/db.js';
import type { Endpoint, Flow, FlowNode, Target } from './model.js';

/*
 * Employees and groups (сотрудники и группы) as a call flow sees them. A flow names employees and groups by
 * id; when a call enters the flow they are resolved to the endpoints to dial: an available employee's
 * endpoints, named after the employee (so an answered call reports who took it); unavailable employees
 * are left out, and a ring group left with nobody passes the call on to its `next` node.
 */

export interface Employee {
  id: string;
  name: string;
  endpoints: Endpoint[];
  available: boolean;
}

export interface EmployeeGroup {
  id: string;
  name: string;
  /** Employee ids in ringing order. */
  members: string[];
}

export interface Directory {
  employees: ReadonlyMap<string, Employee>;
  groups: ReadonlyMap<string, EmployeeGroup>;
}

/** The flow with every employee and group reference replaced by the endpoints to dial now. Pure. */
export function resolveFlow(flow: Flow, directory: Directory): Flow {
  const nodes: Record<string, FlowNode> = {};
  for (const [id, node] of Object.entries(flow.nodes)) {
    if (node.kind !== 'ringGroup') {
      nodes[id] = node;
      continue;
    }
    const group = node.groupId ? directory.groups.get(node.groupId) : undefined;
    const members: Target[] = (group?.members ?? []).map((employeeId) => ({ kind: 'employee', employeeId }));
    const seen = new Set<string>();
    const targets = [...node.targets, ...members]
      .flatMap((t) => endpointsOf(t, directory))
      .filter((e) => {
        const key = e.kind === 'phone' ? e.number : e.uri;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    nodes[id] = { ...node, name: node.name ?? group?.name, targets };
  }
  return { ...flow, nodes };
}

function endpointsOf(t: Target, directory: Directory): Endpoint[] {
  if (t.kind !== 'employee') return [t];
  const employee = directory.employees.get(t.employeeId);
  if (!employee?.available) return [];
  return employee.endpoints.map((e) => ({ ...e, name: employee.name }));
}

/** Employee and group ids a flow refers to. */
export function flowReferences(flow: Flow): { employees: string[]; groups: string[] } {
  const employees = new Set<string>();
  const groups = new Set<string>();
  for (const node of Object.values(flow.nodes)) {
    if (node.kind !== 'ringGroup') continue;
    if (node.groupId) groups.add(node.groupId);
    for (const t of node.targets) if (t.kind === 'employee') employees.add(t.employeeId);
  }
  return { employees: [...employees], groups: [...groups] };
}

/** The account's employees and groups that a flow refers to (groups' members included), in one round trip. */
export async function loadDirectory(q: Queryable, accountId: string, flow: Flow): Promise<Directory> {
  const refs = flowReferences(flow);
  if (refs.employees.length === 0 && refs.groups.length === 0)
    return { employees: new Map(), groups: new Map() };
  const rows = await q.query<{
    kind: 'group' | 'employee';
    id: string;
    name: string;
    members: string[] | null;
    endpoints: Endpoint[] | null;
    available: boolean | null;
  }>(
    `SELECT 'group' AS kind, id, name, members, NULL::jsonb AS endpoints, NULL::boolean AS available
       FROM employee_groups WHERE account_id = $1 AND id = ANY($3::uuid[])
     UNION ALL
     SELECT 'employee', e.id, e.name, NULL::uuid[], e.endpoints, e.available
       FROM employees e
      WHERE e.account_id = $1
        AND (e.id = ANY($2::uuid[]) OR e.id IN (
          SELECT unnest(g.members) FROM employee_groups g WHERE g.account_id = $1 AND g.id = ANY($3::uuid[])))`,
    [accountId, refs.employees, refs.groups],
  );
  const employees = new Map<string, Employee>();
  const groups = new Map<string, EmployeeGroup>();
  for (const r of rows) {
    if (r.kind === 'group') groups.set(r.id, { id: r.id, name: r.name, members: r.members ?? [] });
    else
      employees.set(r.id, {
        id: r.id,
        name: r.name,
        endpoints: r.endpoints ?? [],
        available: r.available === true,
      });
  }
  return { employees, groups };
}
