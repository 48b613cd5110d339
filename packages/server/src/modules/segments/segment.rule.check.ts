import { ValidationError } from '../../errors.ts';
import { type FieldDef, lookupField, type Op, operatorsOf } from './segment.fields.ts';
import { type Condition, LIMITS, printValue, type RelUnit, type Rule, type Value } from './segment.rule.ast.ts';

/** Validation of conditions against the field registry (shared by the text and tree faces), and dates. */

type Problem = { message: string; code: string; at: 'field' | 'op' | 'value' | 'arg'; valueIndex?: number; argIndex?: number };

const DURATION_MS: Record<RelUnit, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, m: 30 * 86_400_000, y: 365 * 86_400_000 };
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * An ISO date (or date-time) that exists on the calendar: JavaScript rolls '2026-02-30' over to
 * March 2 while PostgreSQL refuses it (22008), so the calendar day and the clock are compared
 * with what the parsed date gives back.
 */
function isRealDate(text: string): boolean {
  if (!ISO_DATE.test(text)) return false;
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (y < 1 || day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return false;
  const time = text.match(/T(\d{2}):(\d{2})(?::(\d{2}))?/);
  if (time && (Number(time[1]) > 23 || Number(time[2]) > 59 || Number(time[3] ?? 0) > 59)) return false;
  const offset = text.match(/[+-](\d{2}):(\d{2})$/);
  if (offset && (Number(offset[1]) > 14 || Number(offset[2]) > 59)) return false;
  return !Number.isNaN(new Date(text).getTime());
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A staff user id in a rule: the global id the API hands out or the raw row id. */
export function staffRowId(s: string): string | null {
  if (UUID.test(s)) return s.toLowerCase();
  const [type, id] = Buffer.from(s, 'base64').toString('utf8').split(':');
  return type === 'StaffUser' && id && UUID.test(id) ? id.toLowerCase() : null;
}

function checkValue(def: FieldDef, v: Value, op: Op): string | null {
  switch (def.type) {
    case 'enum':
      return v.t === 'ident' && def.values?.includes(v.v) ? null : `Expected one of ${def.values?.join(', ')}`;
    case 'string':
      return v.t === 'str' ? null : "Expected a quoted text, e.g. 'Berlin'";
    case 'number':
      return v.t === 'num' ? null : 'Expected a number';
    case 'date':
      if (v.t === 'rel') return null;
      if (v.t === 'str' && isRealDate(v.v)) return null;
      return "Expected a relative date like -90d or a date like '2026-01-31'";
    case 'boolean':
      return v.t === 'bool' ? null : 'Expected true or false';
    case 'set':
      if (def.values) return v.t === 'ident' && def.values.includes(v.v) ? null : `Expected one of ${def.values.join(', ')}`;
      return v.t === 'str' ? null : 'Expected a quoted text';
    case 'id':
      return v.t === 'str' && staffRowId(v.v) ? null : 'Expected a staff user id in quotes';
    case 'json':
      if (op === 'CONTAINS') return v.t === 'str' || v.t === 'num' ? null : 'Expected a text or number';
      if (['<', '<=', '>', '>=', 'BETWEEN'].includes(op)) return v.t === 'num' ? null : 'Expected a number';
      return v.t === 'str' || v.t === 'num' || v.t === 'bool'
        ? null
        : "Expected a quoted text, a number or true/false (text needs quotes: 'gold')";
  }
}

export function checkCondition(c: Condition, def: FieldDef): Problem | null {
  const allowed = def.args ?? {};
  const seen = new Set<string>();
  for (const [i, a] of c.args.entries()) {
    const spec = allowed[a.name];
    if (!spec)
      return {
        message: Object.keys(allowed).length
          ? `${c.field} takes no argument "${a.name}" (arguments: ${Object.keys(allowed).join(', ')})`
          : `${c.field} takes no arguments`,
        code: 'bad_argument',
        at: 'arg',
        argIndex: i,
      };
    if (seen.has(a.name)) return { message: `Argument "${a.name}" given twice`, code: 'bad_argument', at: 'arg', argIndex: i };
    seen.add(a.name);
    if (spec.type === 'enum' && !(a.value.t === 'ident' && spec.values.includes(a.value.v)))
      return { message: `${a.name}: expected one of ${spec.values.join(', ')}`, code: 'bad_value', at: 'arg', argIndex: i };
    if (spec.type === 'string' && !(a.value.t === 'str' && a.value.v.length > 0))
      return { message: `${a.name}: expected a quoted text, e.g. 'SOFA-1'`, code: 'bad_value', at: 'arg', argIndex: i };
    if (spec.type === 'duration' && !(a.value.t === 'rel' || (a.value.t === 'num' && /^\d+$/.test(a.value.v))))
      return { message: `${a.name}: expected a duration like 90d`, code: 'bad_value', at: 'arg', argIndex: i };
  }
  const ops = operatorsOf(def);
  if (!ops.includes(c.op))
    return {
      message: `Operator ${c.op} is not allowed for ${c.field} (${def.type}); use one of ${ops.join(', ')}`,
      code: 'bad_operator',
      at: 'op',
    };
  const arity = c.op === 'IS NULL' || c.op === 'IS NOT NULL' ? 0 : c.op === 'BETWEEN' ? 2 : c.op === 'IN' || c.op === 'NOT IN' ? -1 : 1;
  if (arity >= 0 && c.values.length !== arity)
    return { message: `${c.op} takes ${arity} value${arity === 1 ? '' : 's'}`, code: 'bad_value', at: 'value' };
  if (arity < 0 && (c.values.length < 1 || c.values.length > LIMITS.maxListValues))
    return {
      message: c.values.length ? `More than ${LIMITS.maxListValues} values in the list` : `${c.op} needs at least one value`,
      code: c.values.length ? 'list_too_long' : 'bad_value',
      at: 'value',
    };
  for (const [i, v] of c.values.entries()) {
    const m = checkValue(def, v, c.op);
    if (m) return { message: `${c.field}: ${m}`, code: 'bad_value', at: 'value', valueIndex: i };
  }
  return null;
}

/** Argument order as declared by the field; durations as relative values. */
export function canonicalCondition(c: Condition, def: FieldDef): Condition {
  const order = Object.keys(def.args ?? {});
  const args = [...c.args]
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
    .map((a) => (a.value.t === 'num' ? { name: a.name, value: { t: 'rel' as const, n: Number(a.value.v), unit: 'd' as const } } : a))
    .map((a) => (a.value.t === 'rel' ? { name: a.name, value: { ...a.value, n: Math.abs(a.value.n) } } : a));
  return { ...c, args };
}

/** Milliseconds of a duration argument (`within = 90d`). */
export const durationMs = (v: Value) => (v.t === 'rel' ? Math.abs(v.n) * DURATION_MS[v.unit] : 0);

/** A relative date value -> the instant it means at `now` (months and years by calendar). */
export function relativeDate(v: Extract<Value, { t: 'rel' }>, now: Date): Date {
  const d = new Date(now.getTime());
  if (v.unit === 'm') d.setUTCMonth(d.getUTCMonth() + v.n);
  else if (v.unit === 'y') d.setUTCFullYear(d.getUTCFullYear() + v.n);
  else d.setTime(d.getTime() + v.n * DURATION_MS[v.unit]);
  return d;
}

/**
 * Each distinct aggregate (a behavioural field with its arguments) is one grouped subquery over
 * orders or interactions: at most LIMITS.maxAggregates per rule keep a rule's cost bounded.
 */
export function checkAggregates(rule: Rule, path: string[]): Rule {
  // Keyed like the compiler's joins: fields sharing one join function (e.g. all loyalty fields,
  // or orders.count / orders.total) with the same arguments are one subquery.
  const keys = new Map<string, string>();
  const joinIds = new Map<unknown, number>();
  const walk = (r: Rule): void => {
    if (r.kind === 'cond') {
      const def = lookupField(r.field)?.def;
      // Behaviour aggregates count as before they shared one pass: events.count and
      // events.lastSeen with the same arguments once, events.sessions apart.
      const id = def?.join ?? (def?.events === 'sessions' ? 'events.sessions' : def?.events ? 'events' : undefined);
      if (def && id) {
        if (!joinIds.has(id)) joinIds.set(id, joinIds.size);
        const args = r.args.map((a) => `${a.name}=${printValue(a.value)}`).join(',');
        const key = `${joinIds.get(id)}|${args}`;
        if (!keys.has(key)) keys.set(key, `${def.name}(${args})`);
      }
    } else if (r.kind === 'not') walk(r.item);
    else r.items.forEach(walk);
  };
  walk(rule);
  if (keys.size > LIMITS.maxAggregates)
    throw new ValidationError([
      {
        path,
        message: `More than ${LIMITS.maxAggregates} different behavioural aggregates (${[...keys.values()].slice(0, 12).join(', ')}${keys.size > 12 ? ', …' : ''})`,
        code: 'too_many_aggregates',
      },
    ]);
  return rule;
}
