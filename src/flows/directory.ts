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

interface EmployeeRow {
  id: string;
  name: string;
  endpoints: Endpoint[];
  available: boolean;
}

/** The account's employees and groups that a flow refers to (groups' members included). */
export async function loadDirectory(q: Queryable, accountId: string, flow: Flow): Promise<Directory> {
  const refs = flowReferences(flow);
  const groups = refs.groups.length
    ? await q.query<{ id: string; name: string; members: string[] }>(
        'SELECT id, name, members FROM employee_groups WHERE account_id = $1 AND id = ANY($2::uuid[])',
        [accountId, refs.groups],
      )
    : [];
  const employeeIds = [...new Set([...refs.employees, ...groups.flatMap((g) => g.members)])];
  const employees = employeeIds.length
    ? await q.query<EmployeeRow>(
        'SELECT id, name, endpoints, available FROM employees WHERE account_id = $1 AND id = ANY($2::uuid[])',
        [accountId, employeeIds],
      )
    : [];
  return {
    employees: new Map(employees.map((e) => [e.id, e])),
    groups: new Map(groups.map((g) => [g.id, g])),
  };
}
