import { type FieldIssue, ValidationError } from '../../errors.ts';
import { lookupField, type Op } from './segment.fields.ts';
import { type Arg, type Condition, KEYWORDS, LIMITS, normalise, type Rule, type Value } from './segment.rule.ast.ts';
import { canonicalCondition, checkAggregates, checkCondition } from './segment.rule.check.ts';
import { describe, lex, lineCol, RuleError, type Tok } from './segment.rule.lexer.ts';

/** The text face: a recursive-descent parser over the lexer's tokens, validating as it goes. */
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
