import { ValidationError } from '../../errors.ts';
import { type ArgDef, type FieldDef, lookupField, OPS, type Op } from './segment.fields.ts';
import { type Condition, LIMITS, normalise, printValue, type RelUnit, type Rule, type Value } from './segment.rule.ast.ts';
import { canonicalCondition, checkAggregates, checkCondition } from './segment.rule.check.ts';
import { normaliseNumber } from './segment.rule.lexer.ts';
import { parseRule } from './segment.rule.parser.ts';

/** The tree face: the GraphQL input / JSON output shape of a rule. */
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

function jsonToValue(def: FieldDef | null, raw: unknown, isArg: false | 'enum' | 'duration' | 'string'): Value | null {
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
