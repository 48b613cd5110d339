import type { RelUnit } from './segment.rule.ast.ts';

/** The rule text's tokens, and the positioned error the parser raises (segment.rule.parser.ts). */
export type Tok =
  | { k: 'word'; v: string; pos: number }
  | { k: 'str'; v: string; pos: number }
  | { k: 'num'; v: string; pos: number }
  | { k: 'rel'; n: number; unit: RelUnit; pos: number }
  | { k: 'op'; v: string; pos: number }
  | { k: 'punct'; v: '(' | ')' | ','; pos: number }
  | { k: 'eof'; pos: number };

export class RuleError extends Error {
  constructor(
    readonly pos: number,
    message: string,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export function lineCol(text: string, pos: number) {
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

export function lex(text: string): Tok[] {
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

export const describe = (t: Tok) =>
  t.k === 'eof' ? 'end of rule' : t.k === 'str' ? `'${t.v.slice(0, 30)}'` : t.k === 'rel' ? 'a relative date' : `"${t.v}"`;
