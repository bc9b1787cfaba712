import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Queryable } from '../db/db.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { flowReferences } from './directory.js';
import { endpointSchema, type Flow } from './model.js';

// Employees (endpoints and availability) and groups of them, under /api/v1/employees and
// /api/v1/employee-groups; flows ring them by id.

const employeeBody = z
  .object({
    name: z.string().min(1).max(200),
    endpoints: z.array(endpointSchema).min(1).max(10),
    available: z.boolean().default(true),
  })
  .strict();
const employeePatch = z
  .object({
    name: z.string().min(1).max(200),
    endpoints: z.array(endpointSchema).min(1).max(10),
    available: z.boolean(),
  })
  .partial()
  .strict();
const groupBody = z
  .object({ name: z.string().min(1).max(200), members: z.array(z.uuid()).max(50).default([]) })
  .strict();
const groupPatch = z
  .object({ name: z.string().min(1).max(200), members: z.array(z.uuid()).max(50) })
  .partial()
  .strict();
const idParams = z.object({ id: z.uuid() });

interface EmployeeRow {
  id: string;
  name: string;
  endpoints: unknown;
  available: boolean;
  created_at: Date;
  updated_at: Date;
}
interface GroupRow {
  id: string;
  name: string;
  members: string[];
  created_at: Date;
  updated_at: Date;
}

const employeeView = (e: EmployeeRow) => ({
  id: e.id,
  name: e.name,
  endpoints: e.endpoints,
  available: e.available,
  createdAt: e.created_at,
  updatedAt: e.updated_at,
});
const groupView = (g: GroupRow) => ({
  id: g.id,
  name: g.name,
  members: g.members,
  createdAt: g.created_at,
  updatedAt: g.updated_at,
});

/** Ids in `ids` that are not employees of the account. */
async function unknownEmployees(q: Queryable, accountId: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const found = await q.query<{ id: string }>(
    'SELECT id FROM employees WHERE account_id = $1 AND id = ANY($2::uuid[])',
    [accountId, ids],
  );
  const known = new Set(found.map((r) => r.id));
  return ids.filter((id) => !known.has(id));
}

/** A flow may only ring employees and groups of its own account; a 400 names the node at fault. */
export async function requireFlowReferences(q: Queryable, accountId: string, flow: Flow): Promise<void> {
  const refs = flowReferences(flow);
  const missingEmployees = new Set(await unknownEmployees(q, accountId, refs.employees));
  const groups = refs.groups.length
    ? await q.query<{ id: string }>(
        'SELECT id FROM employee_groups WHERE account_id = $1 AND id = ANY($2::uuid[])',
        [accountId, refs.groups],
      )
    : [];
  const knownGroups = new Set(groups.map((g) => g.id));
  const issues: Array<{ field: string; message: string }> = [];
  for (const [id, node] of Object.entries(flow.nodes)) {
    if (node.kind !== 'ringGroup') continue;
    if (node.groupId && !knownGroups.has(node.groupId)) {
      issues.push({ field: `body.flow.nodes.${id}.groupId`, message: `no employee group ${node.groupId}` });
    }
    node.targets.forEach((t, i) => {
      if (t.kind === 'employee' && missingEmployees.has(t.employeeId)) {
        issues.push({
          field: `body.flow.nodes.${id}.targets.${i}.employeeId`,
          message: `no employee ${t.employeeId}`,
        });
      }
    });
  }
  if (issues.length > 0) {
    throw new HttpError(
      400,
      'invalid_flow',
      issues.map((i) => `${i.field}: ${i.message}`).join('; '),
      issues,
    );
  }
}

/** Names of the flows (and groups) that still use an employee or group: it cannot be deleted while they do. */
async function usedBy(q: Queryable, accountId: string, id: string): Promise<string[]> {
  const flows = await q.query<{ name: string }>(
    `SELECT name FROM call_flows WHERE account_id = $1 AND position($2 in definition::text) > 0 ORDER BY name`,
    [accountId, id],
  );
  const groups = await q.query<{ name: string }>(
    'SELECT name FROM employee_groups WHERE account_id = $1 AND $2::uuid = ANY(members) ORDER BY name',
    [accountId, id],
  );
  return [...flows.map((f) => `flow "${f.name}"`), ...groups.map((g) => `group "${g.name}"`)];
}

export function employeeRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db, clock } = ctx;
  const tags = ['routing'];

  const findEmployee = async (accountId: string, id: string) => {
    const [row] = await db.query<EmployeeRow>(
      'SELECT id, name, endpoints, available, created_at, updated_at FROM employees WHERE account_id = $1 AND id = $2',
      [accountId, id],
    );
    if (!row) throw new HttpError(404, 'not_found', `Employee ${id} not found`);
    return row;
  };
  const findGroup = async (accountId: string, id: string) => {
    const [row] = await db.query<GroupRow>(
      'SELECT id, name, members, created_at, updated_at FROM employee_groups WHERE account_id = $1 AND id = $2',
      [accountId, id],
    );
    if (!row) throw new HttpError(404, 'not_found', `Employee group ${id} not found`);
    return row;
  };
  const requireMembers = async (accountId: string, members: string[]) => {
    const missing = await unknownEmployees(db, accountId, members);
    if (missing.length === 0) return;
    const issues = missing.map((id) => ({
      field: `body.members.${members.indexOf(id)}`,
      message: `no employee ${id}`,
    }));
    throw new HttpError(
      400,
      'invalid_request',
      issues.map((i) => `${i.field}: ${i.message}`).join('; '),
      issues,
    );
  };
  const refuseInUse = async (accountId: string, id: string, what: string) => {
    const users = await usedBy(db, accountId, id);
    if (users.length > 0) throw new HttpError(409, 'in_use', `${what} is used by ${users.join(', ')}`);
  };

  r.get('/api/v1/employees', { schema: { tags } }, async (req) => {
    const rows = await db.query<EmployeeRow>(
      'SELECT id, name, endpoints, available, created_at, updated_at FROM employees WHERE account_id = $1 ORDER BY name, id',
      [req.accountId],
    );
    return rows.map(employeeView);
  });
  r.get('/api/v1/employees/:id', { schema: { tags, params: idParams } }, async (req) =>
    employeeView(await findEmployee(req.accountId, req.params.id)),
  );
  r.post('/api/v1/employees', { schema: { tags, body: employeeBody } }, async (req, reply) => {
    const id = randomUUID();
    const now = clock.now();
    await db.query(
      `INSERT INTO employees (account_id, id, name, endpoints, available, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)`,
      [req.accountId, id, req.body.name, JSON.stringify(req.body.endpoints), req.body.available, now],
    );
    reply.code(201);
    return employeeView(await findEmployee(req.accountId, id));
  });
  r.patch(
    '/api/v1/employees/:id',
    { schema: { tags, params: idParams, body: employeePatch } },
    async (req) => {
      const current = await findEmployee(req.accountId, req.params.id);
      await db.query(
        'UPDATE employees SET name = $3, endpoints = $4, available = $5, updated_at = $6 WHERE account_id = $1 AND id = $2',
        [
          req.accountId,
          req.params.id,
          req.body.name ?? current.name,
          JSON.stringify(req.body.endpoints ?? current.endpoints),
          req.body.available ?? current.available,
          clock.now(),
        ],
      );
      return employeeView(await findEmployee(req.accountId, req.params.id));
    },
  );
  r.delete('/api/v1/employees/:id', { schema: { tags, params: idParams } }, async (req, reply) => {
    const employee = await findEmployee(req.accountId, req.params.id);
    await refuseInUse(req.accountId, employee.id, `Employee "${employee.name}"`);
    await db.query('DELETE FROM employees WHERE account_id = $1 AND id = $2', [req.accountId, employee.id]);
    reply.code(204);
  });

  r.get('/api/v1/employee-groups', { schema: { tags } }, async (req) => {
    const rows = await db.query<GroupRow>(
      'SELECT id, name, members, created_at, updated_at FROM employee_groups WHERE account_id = $1 ORDER BY name, id',
      [req.accountId],
    );
    return rows.map(groupView);
  });
  r.get('/api/v1/employee-groups/:id', { schema: { tags, params: idParams } }, async (req) =>
    groupView(await findGroup(req.accountId, req.params.id)),
  );
  r.post('/api/v1/employee-groups', { schema: { tags, body: groupBody } }, async (req, reply) => {
    await requireMembers(req.accountId, req.body.members);
    const id = randomUUID();
    const now = clock.now();
    await db.query(
      `INSERT INTO employee_groups (account_id, id, name, members, created_at, updated_at)
       VALUES ($1, $2, $3, $4::uuid[], $5, $5)`,
      [req.accountId, id, req.body.name, req.body.members, now],
    );
    reply.code(201);
    return groupView(await findGroup(req.accountId, id));
  });
  r.patch(
    '/api/v1/employee-groups/:id',
    { schema: { tags, params: idParams, body: groupPatch } },
    async (req) => {
      const current = await findGroup(req.accountId, req.params.id);
      if (req.body.members) await requireMembers(req.accountId, req.body.members);
      await db.query(
        'UPDATE employee_groups SET name = $3, members = $4::uuid[], updated_at = $5 WHERE account_id = $1 AND id = $2',
        [
          req.accountId,
          current.id,
          req.body.name ?? current.name,
          req.body.members ?? current.members,
          clock.now(),
        ],
      );
      return groupView(await findGroup(req.accountId, current.id));
    },
  );
  r.delete('/api/v1/employee-groups/:id', { schema: { tags, params: idParams } }, async (req, reply) => {
    const group = await findGroup(req.accountId, req.params.id);
    await refuseInUse(req.accountId, group.id, `Group "${group.name}"`);
    await db.query('DELETE FROM employee_groups WHERE account_id = $1 AND id = $2', [
      req.accountId,
      group.id,
    ]);
    reply.code(204);
  });
}
