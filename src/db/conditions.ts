/**
 * AND-ed SQL conditions with numbered parameters for optional filters: `add('col = ?', value)` binds the
 * value as the next `$n` (every `?` in the fragment refers to it).
 */
export function sqlConditions(fixed: string[] = [], fixedParams: unknown[] = []) {
  const where = fixed.length > 0 ? [...fixed] : ['true'];
  const params = [...fixedParams];
  return {
    params,
    add(sql: string, value: unknown): void {
      params.push(value);
      where.push(sql.replaceAll('?', `$${params.length}`));
    },
    sql: () => where.join(' AND '),
  };
}
