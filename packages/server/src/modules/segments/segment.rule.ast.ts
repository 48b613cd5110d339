import type { Op } from './segment.fields.ts';

/**
 * The segment rule language: one AST with two faces.
 *   - text:  stage IN (REPEAT, LOYAL) AND age BETWEEN 25 AND 40 AND lastOrderAt < -90d
 *   - tree:  { and: [{ condition: { field: "stage", op: IN, values: ["REPEAT", "LOYAL"] } }, ...] }
 * `parseRule` / `treeToRule` validate against the field registry and return a normalised AST
 * (nested AND/OR flattened, single-item groups unwrapped); `printRule` prints the canonical text,
 * so print(parse(print(x))) === print(x). Errors are ValidationErrors at the input path, with the
 * offset and line:column of the offending token and the field concerned.
 */

export const LIMITS = { maxLength: 10_000, maxDepth: 16, maxConditions: 100, maxListValues: 500, maxAggregates: 8 } as const;

export type Value =
  | { t: 'str'; v: string }
  | { t: 'num'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'ident'; v: string }
  /** A duration relative to now: `-90d` (90 days ago), `+7d`; units d, w, m (months), y, h. */
  | { t: 'rel'; n: number; unit: RelUnit };
export type RelUnit = 'h' | 'd' | 'w' | 'm' | 'y';
export type Arg = { name: string; value: Value };
export type Condition = { kind: 'cond'; field: string; args: Arg[]; op: Op; values: Value[] };
export type Rule = { kind: 'and'; items: Rule[] } | { kind: 'or'; items: Rule[] } | { kind: 'not'; item: Rule } | Condition;

// ---------------------------------------------------------------------------------------------
// Printing

/** Reserved words of the text face (quoted when used as identifiers). */
export const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'CONTAINS', 'IS', 'NULL', 'TRUE', 'FALSE']);

export function printValue(v: Value): string {
  switch (v.t) {
    case 'str':
      return `'${v.v.replaceAll("'", "''")}'`;
    case 'num':
      return v.v;
    case 'bool':
      return v.v ? 'true' : 'false';
    case 'ident':
      return v.v;
    case 'rel':
      return `${v.n < 0 ? '-' : '+'}${Math.abs(v.n)}${v.unit}`;
  }
}

function printCondition(c: Condition): string {
  const arg = (v: Value) => (v.t === 'rel' ? `${Math.abs(v.n)}${v.unit}` : printValue(v));
  const args = c.args.length ? `(${c.args.map((a) => `${a.name} = ${arg(a.value)}`).join(', ')})` : '';
  const f = `${c.field}${args}`;
  switch (c.op) {
    case 'IS NULL':
    case 'IS NOT NULL':
      return `${f} ${c.op}`;
    case 'IN':
    case 'NOT IN':
      return `${f} ${c.op} (${c.values.map(printValue).join(', ')})`;
    case 'BETWEEN':
      return `${f} BETWEEN ${printValue(c.values[0] as Value)} AND ${printValue(c.values[1] as Value)}`;
    default:
      return `${f} ${c.op} ${printValue(c.values[0] as Value)}`;
  }
}

/** Canonical text of a (normalised) rule. */
export function printRule(r: Rule): string {
  switch (r.kind) {
    case 'cond':
      return printCondition(r);
    case 'not':
      return `NOT ${r.item.kind === 'cond' || r.item.kind === 'not' ? printRule(r.item) : `(${printRule(r.item)})`}`;
    case 'and':
      return r.items.map((i) => (i.kind === 'or' ? `(${printRule(i)})` : printRule(i))).join(' AND ');
    case 'or':
      return r.items.map((i) => (i.kind === 'and' ? `(${printRule(i)})` : printRule(i))).join(' OR ');
  }
}

/** Flattens nested groups of the same kind and unwraps single-item groups. */
export function normalise(r: Rule): Rule {
  if (r.kind === 'cond') return r;
  if (r.kind === 'not') return { kind: 'not', item: normalise(r.item) };
  const items: Rule[] = [];
  for (const i of r.items.map(normalise)) {
    if (i.kind === r.kind) items.push(...i.items);
    else items.push(i);
  }
  return items.length === 1 ? (items[0] as Rule) : { kind: r.kind, items };
}

/** Number of conditions (for limits and descriptions). */
export const countConditions = (r: Rule): number =>
  r.kind === 'cond' ? 1 : r.kind === 'not' ? countConditions(r.item) : r.items.reduce((n, i) => n + countConditions(i), 0);
