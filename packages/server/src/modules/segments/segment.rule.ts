/**
 * The segment rule language's public API, one import for its users. The parts, one role each:
 *   segment.rule.ast.ts     the AST, limits, canonical printing and normalisation
 *   segment.rule.lexer.ts   tokens of the text face
 *   segment.rule.parser.ts  the text face: parser and `parseRule`
 *   segment.rule.check.ts   validation against the field registry (shared by both faces)
 *   segment.rule.tree.ts    the tree face (GraphQL input / `ruleTree` output) and `ruleFromInput`
 */
export {
  type Arg,
  type Condition,
  countConditions,
  LIMITS,
  normalise,
  printRule,
  printValue,
  type RelUnit,
  type Rule,
  type Value,
} from './segment.rule.ast.ts';
export { durationMs, relativeDate, staffRowId } from './segment.rule.check.ts';
export { normaliseNumber } from './segment.rule.lexer.ts';
export { parseRule } from './segment.rule.parser.ts';
export { type ConditionTree, OP_NAMES, type OpName, type RuleTree, ruleFromInput, ruleToTree, treeToRule } from './segment.rule.tree.ts';
