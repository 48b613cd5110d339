import { type FieldIssue, ValidationError } from '../../errors.ts';
import { type ArgDef, type FieldDef, lookupField, OPS, type Op, operatorsOf } from './segment.fields.ts';

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

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'CONTAINS', 'IS', 'NULL', 'TRUE', 'FALSE']);

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

// ---------------------------------------------------------------------------------------------
// Lexing and parsing

type Tok =
  | { k: 'word'; v: string; pos: number }
  | { k: 'str'; v: string; pos: number }
  | { k: 'num'; v: string; pos: number }
  | { k: 'rel'; n: number; unit: RelUnit; pos: number }
  | { k: 'op'; v: string; pos: number }
  | { k: 'punct'; v: '(' | ')' | ','; pos: number }
  | { k: 'eof'; pos: number };

class RuleError extends Error {
  constructor(
    readonly pos: number,
    message: string,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function lineCol(text: string, pos: number) {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `${line}:${pos - before.lastIndexOf('\n')}`;
}

/** Normalises a numeric literal ("007.50" -> "7.5", "-0" -> "0"). */
export function normaliseNumber(s: string): string | null {
  const m = /^([+-]?)(\d{1,30})(?:\.(\d{1,10}))?$/.exec(s);
  if (!m) return null;
  const int = (m[2] as string).replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return m[1] === '-' && body !== '0' ? `-${body}` : body;
}

function lex(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new RuleError(start, 'Unterminated string literal', 'syntax');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += text[i];
        i++;
      }
      if (v.length > 1000) throw new RuleError(start, 'String literal longer than 1000 characters', 'too_long');
      toks.push({ k: 'str', v, pos: start });
      continue;
    }
    const rel = /^([+-]?)(\d{1,6})([hdwmy])(?![A-Za-z0-9_])/.exec(text.slice(i, i + 12));
    if (rel) {
      toks.push({ k: 'rel', n: (rel[1] === '-' ? -1 : 1) * Number(rel[2]), unit: rel[3] as RelUnit, pos: start });
      i += rel[0].length;
      continue;
    }
    const num = /^[+-]?\d+(?:\.\d+)?(?![A-Za-z_])/.exec(text.slice(i, i + 64));
    if (num) {
      const v = normaliseNumber(num[0]);
      if (v === null) throw new RuleError(start, `Number out of range: ${num[0].slice(0, 40)}`, 'bad_value');
      toks.push({ k: 'num', v, pos: start });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i, i + 200));
    if (word) {
      toks.push({ k: 'word', v: word[0], pos: start });
      i += word[0].length;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(text.slice(i, i + 2));
    if (op) {
      toks.push({ k: 'op', v: op[0] === '<>' ? '!=' : op[0], pos: start });
      i += op[0].length;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      toks.push({ k: 'punct', v: ch, pos: start });
      i++;
      continue;
    }
    throw new RuleError(start, `Unexpected character ${JSON.stringify(ch)}`, 'syntax');
  }
  toks.push({ k: 'eof', pos: text.length });
  return toks;
}

const describe = (t: Tok) =>
  t.k === 'eof' ? 'end of rule' : t.k === 'str' ? `'${t.v.slice(0, 30)}'` : t.k === 'rel' ? 'a relative date' : `"${t.v}"`;

class Parser {
  private i = 0;
  conditions = 0;
  constructor(private readonly toks: Tok[]) {}
  private peek(): Tok {
    return this.toks[this.i] as Tok;
  }
  private next(): Tok {
    return this.toks[this.i++] as Tok;
  }
  private isWord(v: string, t = this.peek()) {
    return t.k === 'word' && t.v.toUpperCase() === v;
  }
  private expectWord(v: string, field?: string) {
    const t = this.next();
    if (!this.isWord(v, t)) throw new RuleError(t.pos, `Expected ${v}, found ${describe(t)}`, 'syntax', field);
  }
  private expectPunct(v: string, field?: string) {
    const t = this.next();
    if (t.k !== 'punct' || t.v !== v) throw new RuleError(t.pos, `Expected "${v}", found ${describe(t)}`, 'syntax', field);
  }

  parse(): Rule {
    const r = this.or(0);
    const t = this.peek();
    if (t.k !== 'eof') throw new RuleError(t.pos, `Unexpected ${describe(t)}; expected AND, OR or the end of the rule`, 'syntax');
    return r;
  }
  private depth(d: number) {
    if (d > LIMITS.maxDepth) throw new RuleError(this.peek().pos, `Rule nested deeper than ${LIMITS.maxDepth} levels`, 'too_deep');
  }
  private or(d: number): Rule {
    const items = [this.and(d)];
    while (this.isWord('OR')) {
      this.next();
      items.push(this.and(d));
    }
    return items.length === 1 ? (items[0] as Rule) : { kind: 'or', items };
  }
  private and(d: number): Rule {
    const items = [this.not(d)];
    while (this.isWord('AND')) {
      this.next();
      items.push(this.not(d));
    }
    return items.length === 1 ? (items[0] as Rule) : { kind: 'and', items };
  }
  private not(d: number): Rule {
    this.depth(d);
    if (this.isWord('NOT')) {
      this.next();
      return { kind: 'not', item: this.not(d + 1) };
    }
    const t = this.peek();
    if (t.k === 'punct' && t.v === '(') {
      this.next();
      const r = this.or(d + 1);
      this.expectPunct(')');
      return r;
    }
    return this.condition();
  }
  private value(field: string): Value & { pos: number } {
    const t = this.next();
    switch (t.k) {
      case 'str':
        return { t: 'str', v: t.v, pos: t.pos };
      case 'num':
        return { t: 'num', v: t.v, pos: t.pos };
      case 'rel':
        return { t: 'rel', n: t.n, unit: t.unit, pos: t.pos };
      case 'word': {
        const u = t.v.toUpperCase();
        if (u === 'TRUE' || u === 'FALSE') return { t: 'bool', v: u === 'TRUE', pos: t.pos };
        if (KEYWORDS.has(u)) break;
        return { t: 'ident', v: t.v, pos: t.pos };
      }
    }
    throw new RuleError(t.pos, `Expected a value, found ${describe(t)}`, 'syntax', field);
  }
  private condition(): Condition {
    const ft = this.next();
    if (ft.k !== 'word' || KEYWORDS.has(ft.v.toUpperCase()))
      throw new RuleError(ft.pos, `Expected a field name, found ${describe(ft)}`, 'syntax');
    const field = ft.v;
    if (++this.conditions > LIMITS.maxConditions)
      throw new RuleError(ft.pos, `More than ${LIMITS.maxConditions} conditions`, 'too_many_conditions', field);
    const found = lookupField(field);
    if (!found) throw new RuleError(ft.pos, `Unknown field "${field.slice(0, 80)}"`, 'unknown_field', field);
    const args: (Arg & { pos: number })[] = [];
    const p = this.peek();
    if (p.k === 'punct' && p.v === '(') {
      this.next();
      for (;;) {
        const a = this.next();
        if (a.k !== 'word') throw new RuleError(a.pos, `Expected an argument name, found ${describe(a)}`, 'syntax', field);
        const eq = this.next();
        if (eq.k !== 'op' || eq.v !== '=') throw new RuleError(eq.pos, `Expected "=", found ${describe(eq)}`, 'syntax', field);
        args.push({ name: a.v, value: this.value(field), pos: a.pos });
        const sep = this.peek();
        if (sep.k === 'punct' && sep.v === ',') {
          this.next();
          continue;
        }
        this.expectPunct(')', field);
        break;
      }
    }
    const opTok = this.next();
    let op: Op;
    const values: (Value & { pos: number })[] = [];
    if (opTok.k === 'op') {
      op = opTok.v as Op;
      values.push(this.value(field));
    } else if (opTok.k === 'word') {
      const w = opTok.v.toUpperCase();
      if (w === 'IS') {
        if (this.isWord('NOT')) {
          this.next();
          op = 'IS NOT NULL';
        } else op = 'IS NULL';
        this.expectWord('NULL', field);
      } else if (w === 'IN' || (w === 'NOT' && this.isWord('IN'))) {
        if (w === 'NOT') this.next();
        op = w === 'NOT' ? 'NOT IN' : 'IN';
        this.expectPunct('(', field);
        for (;;) {
          values.push(this.value(field));
          if (values.length > LIMITS.maxListValues)
            throw new RuleError(opTok.pos, `More than ${LIMITS.maxListValues} values in the list`, 'list_too_long', field);
          const sep = this.next();
          if (sep.k === 'punct' && sep.v === ',') continue;
          if (sep.k === 'punct' && sep.v === ')') break;
          throw new RuleError(sep.pos, `Expected "," or ")", found ${describe(sep)}`, 'syntax', field);
        }
      } else if (w === 'BETWEEN') {
        op = 'BETWEEN';
        values.push(this.value(field));
        this.expectWord('AND', field);
        values.push(this.value(field));
      } else if (w === 'CONTAINS') {
        op = 'CONTAINS';
        values.push(this.value(field));
      } else {
        throw new RuleError(opTok.pos, `Expected an operator after ${field}, found ${describe(opTok)}`, 'syntax', field);
      }
    } else {
      throw new RuleError(opTok.pos, `Expected an operator after ${field}, found ${describe(opTok)}`, 'syntax', field);
    }
    const cond: Condition = { kind: 'cond', field, args: args.map(({ name, value }) => ({ name, value })), op, values };
    const problem = checkCondition(cond, found.def);
    if (problem) {
      const at =
        problem.at === 'op'
          ? opTok.pos
          : problem.at === 'field'
            ? ft.pos
            : ((problem.argIndex !== undefined ? args[problem.argIndex]?.pos : values[problem.valueIndex ?? 0]?.pos) ?? ft.pos);
      throw new RuleError(at, problem.message, problem.code, field);
    }
    return canonicalCondition(cond, found.def);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation against the registry (shared by both faces)

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

function checkCondition(c: Condition, def: FieldDef): Problem | null {
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
function canonicalCondition(c: Condition, def: FieldDef): Condition {
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

// ---------------------------------------------------------------------------------------------
// Entry points

/** Parses and validates rule text; errors are ValidationErrors at `path`. */
export function parseRule(text: string, path: string[] = ['rule']): Rule {
  if (typeof text !== 'string' || !text.trim()) throw new ValidationError([{ path, message: 'The rule is empty', code: 'empty' }]);
  if (text.length > LIMITS.maxLength)
    throw new ValidationError([{ path, message: `The rule is longer than ${LIMITS.maxLength} characters`, code: 'too_long' }]);
  try {
    return checkAggregates(normalise(new Parser(lex(text)).parse()), path);
  } catch (e) {
    if (!(e instanceof RuleError)) throw e;
    const where = `at ${lineCol(text, e.pos)} (offset ${e.pos})`;
    const issue: FieldIssue = { path, message: `${e.message} ${where}${e.field ? ` [field ${e.field.slice(0, 80)}]` : ''}`, code: e.code };
    throw new ValidationError([issue]);
  }
}

/** The GraphQL input tree of a rule (and the JSON `ruleTree` output: same shape). */
export type RuleTree = {
  and?: RuleTree[] | null;
  or?: RuleTree[] | null;
  not?: RuleTree | null;
  condition?: ConditionTree | null;
};
export type ConditionTree = {
  field: string;
  args?: { name: string; value?: {} | null }[] | null;
  op: OpName;
  value?: {} | null;
  values?: unknown[] | null;
};

export const OP_NAMES = {
  EQ: '=',
  NE: '!=',
  LT: '<',
  LTE: '<=',
  GT: '>',
  GTE: '>=',
  IN: 'IN',
  NOT_IN: 'NOT IN',
  BETWEEN: 'BETWEEN',
  CONTAINS: 'CONTAINS',
  IS_NULL: 'IS NULL',
  IS_NOT_NULL: 'IS NOT NULL',
} as const satisfies Record<string, Op>;
export type OpName = keyof typeof OP_NAMES;
const NAME_OF_OP = Object.fromEntries(Object.entries(OP_NAMES).map(([k, v]) => [v, k])) as Record<Op, OpName>;
if (Object.keys(NAME_OF_OP).length !== OPS.length) throw new Error('every operator needs a GraphQL name');

function jsonToValue(def: FieldDef | null, raw: unknown, isArg: false | 'enum' | 'duration'): Value | null {
  if (typeof raw === 'boolean') return { t: 'bool', v: raw };
  if (typeof raw === 'number') {
    const v = Number.isFinite(raw) ? normaliseNumber(String(raw)) : null;
    return v === null ? null : { t: 'num', v };
  }
  if (typeof raw !== 'string') return null;
  const rel = /^([+-]?)(\d{1,6})([hdwmy])$/.exec(raw);
  const wantsRel = isArg === 'duration' || (!isArg && def?.type === 'date');
  if (rel && wantsRel) return { t: 'rel', n: (rel[1] === '-' ? -1 : 1) * Number(rel[2]), unit: rel[3] as RelUnit };
  const wantsIdent = isArg === 'enum' || (!isArg && (def?.type === 'enum' || (def?.type === 'set' && def.values)));
  if (wantsIdent) return /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw) ? { t: 'ident', v: raw } : null;
  if (def?.type === 'number' && !isArg) {
    const n = normaliseNumber(raw);
    if (n !== null) return { t: 'num', v: n };
  }
  return { t: 'str', v: raw.length > 1000 ? raw.slice(0, 1001) : raw };
}

/** Converts and validates the GraphQL input tree; errors point at the tree path under `path`. */
export function treeToRule(tree: RuleTree, path: string[] = ['ruleTree']): Rule {
  let conditions = 0;
  const fail = (p: string[], message: string, code: string): never => {
    throw new ValidationError([{ path: p, message, code }]);
  };
  const walk = (t: RuleTree | null | undefined, p: string[], depth: number): Rule => {
    if (depth > LIMITS.maxDepth) fail(p, `Rule nested deeper than ${LIMITS.maxDepth} levels`, 'too_deep');
    if (!t || typeof t !== 'object') return fail(p, 'Expected a rule node', 'syntax');
    const set = (['and', 'or', 'not', 'condition'] as const).filter((k) => t[k] != null);
    if (set.length !== 1) fail(p, 'Exactly one of and, or, not, condition must be set', 'syntax');
    if (t.and || t.or) {
      const kind = t.and ? 'and' : 'or';
      const list = (t.and ?? t.or) as RuleTree[];
      if (!list.length) fail([...p, kind], `${kind} needs at least one item`, 'syntax');
      return { kind, items: list.map((x, i) => walk(x, [...p, kind, String(i)], depth + 1)) };
    }
    if (t.not) return { kind: 'not', item: walk(t.not, [...p, 'not'], depth + 1) };
    const c = t.condition as ConditionTree;
    const cp = [...p, 'condition'];
    if (++conditions > LIMITS.maxConditions) fail(cp, `More than ${LIMITS.maxConditions} conditions`, 'too_many_conditions');
    const field = String(c.field ?? '');
    const found = lookupField(field);
    if (!found) return fail([...cp, 'field'], `Unknown field "${field.slice(0, 80)}"`, 'unknown_field');
    const op = OP_NAMES[c.op];
    if (!op) fail([...cp, 'op'], 'Unknown operator', 'bad_operator');
    const argDefs = found.def.args ?? {};
    const args = (c.args ?? []).map((a, i) => {
      const spec = argDefs[a.name] as ArgDef | undefined;
      const value = jsonToValue(null, a.value, spec ? spec.type : 'enum');
      if (!value) fail([...cp, 'args', String(i), 'value'], 'Invalid argument value', 'bad_value');
      return { name: String(a.name), value: value as Value };
    });
    const rawValues =
      op === 'IN' || op === 'NOT IN' || op === 'BETWEEN' ? (c.values ?? []) : c.value === undefined || c.value === null ? [] : [c.value];
    if ((op === 'IN' || op === 'NOT IN') && rawValues.length > LIMITS.maxListValues)
      fail([...cp, 'values'], `More than ${LIMITS.maxListValues} values in the list`, 'list_too_long');
    const valuesKey = op === 'IN' || op === 'NOT IN' || op === 'BETWEEN' ? 'values' : 'value';
    const values = rawValues.map((v, i) => {
      const value = jsonToValue(found.def, v, false);
      if (!value) fail([...cp, valuesKey, ...(valuesKey === 'values' ? [String(i)] : [])], `${field}: invalid value`, 'bad_value');
      return value as Value;
    });
    const cond: Condition = { kind: 'cond', field, args, op: op as Op, values };
    const problem = checkCondition(cond, found.def);
    if (problem) {
      const at =
        problem.at === 'field'
          ? ['field']
          : problem.at === 'op'
            ? ['op']
            : problem.at === 'arg'
              ? ['args', String(problem.argIndex ?? 0)]
              : valuesKey === 'values'
                ? ['values', String(problem.valueIndex ?? 0)]
                : ['value'];
      fail([...cp, ...at], problem.message, problem.code);
    }
    return canonicalCondition(cond, found.def);
  };
  return checkAggregates(normalise(walk(tree, path, 0)), path);
}

/**
 * Each distinct aggregate (a behavioural field with its arguments) is one grouped subquery over
 * orders or interactions: at most LIMITS.maxAggregates per rule keep a rule's cost bounded.
 */
function checkAggregates(rule: Rule, path: string[]): Rule {
  // Keyed like the compiler's joins: fields sharing one join function (e.g. all loyalty fields,
  // or orders.count / orders.total) with the same arguments are one subquery.
  const keys = new Map<string, string>();
  const joinIds = new Map<unknown, number>();
  const walk = (r: Rule): void => {
    if (r.kind === 'cond') {
      const def = lookupField(r.field)?.def;
      if (def?.join) {
        if (!joinIds.has(def.join)) joinIds.set(def.join, joinIds.size);
        const args = r.args.map((a) => `${a.name}=${printValue(a.value)}`).join(',');
        const key = `${joinIds.get(def.join)}|${args}`;
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

function valueToJson(v: Value): unknown {
  switch (v.t) {
    case 'str':
    case 'ident':
      return v.v;
    case 'num':
      return Number(v.v);
    case 'bool':
      return v.v;
    case 'rel':
      return printValue(v);
  }
}

/** The output tree (same shape as the input tree), for editors. */
export function ruleToTree(r: Rule): RuleTree {
  switch (r.kind) {
    case 'and':
      return { and: r.items.map(ruleToTree) };
    case 'or':
      return { or: r.items.map(ruleToTree) };
    case 'not':
      return { not: ruleToTree(r.item) };
    case 'cond': {
      const many = r.op === 'IN' || r.op === 'NOT IN' || r.op === 'BETWEEN';
      const args = r.args.map((a) => ({ name: a.name, value: valueToJson(a.value) }));
      return {
        condition: {
          field: r.field,
          ...(args.length ? { args } : {}),
          op: NAME_OF_OP[r.op],
          ...(many ? { values: r.values.map(valueToJson) } : r.values.length ? { value: valueToJson(r.values[0] as Value) } : {}),
        },
      };
    }
  }
}

/** Exactly one of text or tree -> validated AST. */
export function ruleFromInput(input: { rule?: string | null; ruleTree?: RuleTree | null }, base: string[] = []): Rule {
  const hasText = input.rule != null;
  const hasTree = input.ruleTree != null;
  if (hasText === hasTree)
    throw new ValidationError([{ path: [...base, 'rule'], message: 'Give exactly one of rule (text) or ruleTree', code: 'one_of' }]);
  return hasText ? parseRule(input.rule as string, [...base, 'rule']) : treeToRule(input.ruleTree as RuleTree, [...base, 'ruleTree']);
}

/** Number of conditions (for limits and descriptions). */
export const countConditions = (r: Rule): number =>
  r.kind === 'cond' ? 1 : r.kind === 'not' ? countConditions(r.item) : r.items.reduce((n, i) => n + countConditions(i), 0);
