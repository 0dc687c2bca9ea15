/**
 * A small evaluator of the platform's expression language (Jinja2 bare expressions, DESIGN §5),
 * for the form renderer's instant feedback on `visible_if`. The server evaluates the same
 * expressions with Jinja2 and its answer is the one that counts; this file follows Python's
 * and Jinja's meaning where they differ from JavaScript's:
 *
 * - truthiness: `0`, `""`, `[]`, `{}`, `none` and `false` are false;
 * - `==` compares numbers with booleans (`1 == true`), lists and objects by value;
 * - ordering (`<`, `>=`) of unlike values (`none > 0`, `"a" < 1`) is an error;
 * - an unknown name or a missing attribute is an error (the server's StrictUndefined);
 * - `and`/`or` answer one of their operands.
 *
 * Supported: literals (numbers, strings, `true`/`false`/`none` in either case, lists, tuples,
 * objects), names, `a.b`, `a['b']`, `a[0]`, calls of the helpers below, `not`, `and`, `or`,
 * comparisons (chained), `in`, `not in`, `is [not] none|defined|number|string|...`,
 * `+ - * / // % **`, `~` (joins as text), filters (`x | length`) and `a if c else b`.
 *
 * `parse` raises `ExpressionSyntaxError` for anything else; `evaluate` raises
 * `ExpressionEvalError` where the server's evaluation would fail. `visible` turns both into the
 * renderer's answer: a condition that fails to evaluate hides its field (as on the server),
 * one this evaluator cannot read shows it (the server decides).
 */

export class ExpressionSyntaxError extends Error {}
export class ExpressionEvalError extends Error {}

export type Node =
  | { kind: "lit"; value: unknown }
  | { kind: "name"; name: string }
  | { kind: "attr"; object: Node; attr: string }
  | { kind: "item"; object: Node; index: Node }
  | { kind: "call"; callee: Node; args: Node[] }
  | { kind: "list"; items: Node[] }
  | { kind: "dict"; entries: [Node, Node][] }
  | { kind: "not"; operand: Node }
  | { kind: "neg"; operand: Node; sign: "-" | "+" }
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "compare"; first: Node; ops: [string, Node][] }
  | { kind: "binary"; op: string; left: Node; right: Node }
  | { kind: "test"; operand: Node; test: string; negated: boolean; args: Node[] }
  | { kind: "filter"; operand: Node; filter: string; args: Node[] }
  | { kind: "cond"; test: Node; then: Node; otherwise: Node | null };

// --------------------------------------------------------------------------- tokens

type Token = { t: "num"; v: number } | { t: "str"; v: string } | { t: "name"; v: string } | { t: "op"; v: string } | { t: "eof" };

const OPERATORS = ["**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "~", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"];

function tokenize(source: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const s = source;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(\d[\d_]*)(\.\d[\d_]*)?([eE][+-]?\d+)?/.exec(s.slice(i))!;
      out.push({ t: "num", v: Number(m[0].replace(/_/g, "")) });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let v = "";
      while (j < s.length && s[j] !== c) {
        if (s[j] === "\\" && j + 1 < s.length) {
          const e = s[j + 1];
          v += e === "n" ? "\n" : e === "t" ? "\t" : e;
          j += 2;
        } else v += s[j++];
      }
      if (j >= s.length) throw new ExpressionSyntaxError("a text in quotes is not closed");
      out.push({ t: "str", v });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))!;
      out.push({ t: "name", v: m[0] });
      i += m[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => s.startsWith(o, i));
    if (!op) throw new ExpressionSyntaxError(`unexpected '${c}'`);
    out.push({ t: "op", v: op });
    i += op.length;
  }
  out.push({ t: "eof" });
  return out;
}

// --------------------------------------------------------------------------- parser

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }
  private next(): Token {
    return this.tokens[this.pos++];
  }
  private isOp(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === "op" && t.v === v;
  }
  private isName(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === "name" && t.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new ExpressionSyntaxError(`expected '${v}'`);
    this.pos++;
  }

  parseAll(): Node {
    const node = this.expression();
    if (this.peek().t !== "eof") throw new ExpressionSyntaxError("unexpected text after the expression");
    return node;
  }

  private expression(): Node {
    let node = this.or();
    while (this.isName("if")) {
      this.pos++;
      const test = this.or();
      let otherwise: Node | null = null;
      if (this.isName("else")) {
        this.pos++;
        otherwise = this.expression();
      }
      node = { kind: "cond", test, then: node, otherwise };
    }
    return node;
  }

  private or(): Node {
    let left = this.and();
    while (this.isName("or")) {
      this.pos++;
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }

  private and(): Node {
    let left = this.not();
    while (this.isName("and")) {
      this.pos++;
      left = { kind: "and", left, right: this.not() };
    }
    return left;
  }

  private not(): Node {
    if (this.isName("not")) {
      this.pos++;
      return { kind: "not", operand: this.not() };
    }
    return this.compare();
  }

  private compare(): Node {
    const first = this.math1();
    const ops: [string, Node][] = [];
    for (;;) {
      const t = this.peek();
      if (t.t === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.v)) {
        this.pos++;
        ops.push([t.v, this.math1()]);
      } else if (this.isName("in")) {
        this.pos++;
        ops.push(["in", this.math1()]);
      } else if (this.isName("not") && this.isName("in", 1)) {
        this.pos += 2;
        ops.push(["notin", this.math1()]);
      } else break;
    }
    return ops.length ? { kind: "compare", first, ops } : first;
  }

  private math1(): Node {
    let left = this.concat();
    while (this.isOp("+") || this.isOp("-")) {
      const op = (this.next() as { v: string }).v;
      left = { kind: "binary", op, left, right: this.concat() };
    }
    return left;
  }

  private concat(): Node {
    let left = this.math2();
    while (this.isOp("~")) {
      this.pos++;
      left = { kind: "binary", op: "~", left, right: this.math2() };
    }
    return left;
  }

  private math2(): Node {
    let left = this.pow();
    while (this.isOp("*") || this.isOp("/") || this.isOp("//") || this.isOp("%")) {
      const op = (this.next() as { v: string }).v;
      left = { kind: "binary", op, left, right: this.pow() };
    }
    return left;
  }

  private pow(): Node {
    let left = this.unary();
    while (this.isOp("**")) {
      this.pos++;
      left = { kind: "binary", op: "**", left, right: this.unary() };
    }
    return left;
  }

  private unary(): Node {
    if (this.isOp("-") || this.isOp("+")) {
      const sign = (this.next() as { v: string }).v as "-" | "+";
      return { kind: "neg", sign, operand: this.unary() };
    }
    return this.filters(this.postfix(this.primary()));
  }

  private primary(): Node {
    const t = this.next();
    if (t.t === "num" || t.t === "str") return { kind: "lit", value: t.v };
    if (t.t === "name") {
      const v = t.v;
      if (v === "true" || v === "True") return { kind: "lit", value: true };
      if (v === "false" || v === "False") return { kind: "lit", value: false };
      if (v === "none" || v === "None") return { kind: "lit", value: null };
      return { kind: "name", name: v };
    }
    if (t.t === "op" && t.v === "(") {
      if (this.isOp(")")) {
        this.pos++;
        return { kind: "list", items: [] };
      }
      const first = this.expression();
      if (this.isOp(",")) {
        const items = [first];
        while (this.isOp(",")) {
          this.pos++;
          if (this.isOp(")")) break;
          items.push(this.expression());
        }
        this.expectOp(")");
        return { kind: "list", items };
      }
      this.expectOp(")");
      return first;
    }
    if (t.t === "op" && t.v === "[") {
      const items: Node[] = [];
      while (!this.isOp("]")) {
        items.push(this.expression());
        if (!this.isOp(",")) break;
        this.pos++;
      }
      this.expectOp("]");
      return { kind: "list", items };
    }
    if (t.t === "op" && t.v === "{") {
      const entries: [Node, Node][] = [];
      while (!this.isOp("}")) {
        const key = this.expression();
        this.expectOp(":");
        entries.push([key, this.expression()]);
        if (!this.isOp(",")) break;
        this.pos++;
      }
      this.expectOp("}");
      return { kind: "dict", entries };
    }
    throw new ExpressionSyntaxError(t.t === "eof" ? "the expression ends too early" : "unexpected text");
  }

  private args(): Node[] {
    this.expectOp("(");
    const args: Node[] = [];
    while (!this.isOp(")")) {
      if (this.peek().t === "name" && this.isOp("=", 1)) throw new ExpressionSyntaxError("named arguments are not read here");
      args.push(this.expression());
      if (!this.isOp(",")) break;
      this.pos++;
    }
    this.expectOp(")");
    return args;
  }

  private postfix(node: Node): Node {
    for (;;) {
      if (this.isOp(".")) {
        this.pos++;
        const t = this.next();
        if (t.t === "name") node = { kind: "attr", object: node, attr: t.v };
        else if (t.t === "num") node = { kind: "item", object: node, index: { kind: "lit", value: t.v } };
        else throw new ExpressionSyntaxError("expected a name after '.'");
      } else if (this.isOp("[")) {
        this.pos++;
        const index = this.expression();
        this.expectOp("]");
        node = { kind: "item", object: node, index };
      } else if (this.isOp("(")) {
        node = { kind: "call", callee: node, args: this.args() };
      } else return node;
    }
  }

  private filters(node: Node): Node {
    for (;;) {
      if (this.isOp("|")) {
        this.pos++;
        const t = this.next();
        if (t.t !== "name") throw new ExpressionSyntaxError("expected a filter name after '|'");
        const args = this.isOp("(") ? this.args() : [];
        node = { kind: "filter", operand: node, filter: t.v, args };
      } else if (this.isName("is")) {
        this.pos++;
        let negated = false;
        if (this.isName("not")) {
          this.pos++;
          negated = true;
        }
        const t = this.next();
        if (t.t !== "name") throw new ExpressionSyntaxError("expected a test name after 'is'");
        const name = t.v === "None" ? "none" : t.v === "True" ? "true" : t.v === "False" ? "false" : t.v;
        let args: Node[] = [];
        if (this.isOp("(")) args = this.args();
        else if (this.peek().t === "num" || this.peek().t === "str") args = [this.primary()];
        node = { kind: "test", operand: node, test: name, negated, args };
      } else return node;
    }
  }
}

const parsed = new Map<string, Node>();

/** The syntax tree of an expression (cached); `{{ ... }}` around it is accepted. */
export function parse(source: string): Node {
  const hit = parsed.get(source);
  if (hit) return hit;
  let text = source.trim();
  const m = /^\{\{([\s\S]*)\}\}$/.exec(text);
  if (m) text = m[1].trim();
  if (!text) throw new ExpressionSyntaxError("the expression is empty");
  const node = new Parser(tokenize(text)).parseAll();
  if (parsed.size > 2000) parsed.clear();
  parsed.set(source, node);
  return node;
}

// --------------------------------------------------------------------------- values

export type Scope = Record<string, unknown>;

const isNumber = (v: unknown): v is number | boolean => typeof v === "number" || typeof v === "boolean";
const isMapping = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMapping(v)) return Object.keys(v).length > 0;
  return typeof v === "number" ? !Number.isNaN(v) : true;
}

export function pyEquals(a: unknown, b: unknown): boolean {
  if (isNumber(a) && isNumber(b)) return Number(a) === Number(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  if (isMapping(a) && isMapping(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && pyEquals(a[k], b[k]));
  }
  return a === b || (a == null && b == null);
}

function order(a: unknown, b: unknown): number {
  if (isNumber(a) && isNumber(b)) return Number(a) - Number(b);
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEquals(a[i], b[i])) return order(a[i], b[i]);
    }
    return a.length - b.length;
  }
  throw new ExpressionEvalError(`cannot compare ${typeName(a)} with ${typeName(b)}`);
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return "none";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return typeof v === "boolean" ? "a boolean" : typeof v === "number" ? "a number" : "text";
}

function contains(container: unknown, item: unknown): boolean {
  if (typeof container === "string") {
    if (typeof item !== "string") throw new ExpressionEvalError("'in <text>' needs text on the left");
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((x) => pyEquals(x, item));
  if (isMapping(container)) return typeof item === "string" && item in container;
  throw new ExpressionEvalError(`cannot look inside ${typeName(container)}`);
}

function num(v: unknown, what: string): number {
  if (isNumber(v)) return Number(v);
  throw new ExpressionEvalError(`${what} needs numbers, not ${typeName(v)}`);
}

function toNumber(v: unknown): number {
  if (isNumber(v)) return Number(v);
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  throw new ExpressionEvalError(`${typeName(v)} is not a number`);
}

function toText(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function values(v: unknown, attribute?: unknown): unknown[] {
  if (!Array.isArray(v)) throw new ExpressionEvalError(`${typeName(v)} is not a list`);
  return typeof attribute === "string" ? v.map((x) => (isMapping(x) ? x[attribute] : x)) : v;
}

const numbersOf = (xs: unknown[]) => xs.filter((x) => x !== null && x !== undefined && x !== "").map(toNumber);

function pyRound(x: number, digits = 0): number {
  const f = 10 ** digits;
  const y = x * f;
  const r = Math.round(y);
  // Python rounds halves to even
  const rounded = Math.abs(y % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return rounded / f;
}

function minMax(args: unknown[], pick: (a: number, b: number) => boolean): unknown {
  const xs = args.length === 1 ? values(args[0]) : args;
  if (!xs.length) throw new ExpressionEvalError("an empty list has no smallest or largest value");
  return xs.reduce((best, x) => (pick(order(x, best), 0) ? x : best));
}

const todayIso = () => new Date().toISOString().slice(0, 10);

export const HELPERS: Record<string, (...args: unknown[]) => unknown> = {
  len: (v) => length(v),
  sum: (v, attribute) => numbersOf(values(v, attribute)).reduce((a, b) => a + b, 0),
  avg: (v, attribute) => {
    const xs = numbersOf(values(v, attribute));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  },
  mean: (v, attribute) => HELPERS.avg(v, attribute),
  min: (...args) => minMax(args, (d) => d < 0),
  max: (...args) => minMax(args, (d) => d > 0),
  abs: (v) => Math.abs(num(v, "abs")),
  round: (v, digits) => pyRound(num(v, "round"), digits === undefined ? 0 : num(digits, "round")),
  int: (v) => Math.trunc(toNumber(v)),
  float: (v) => toNumber(v),
  str: (v) => toText(v),
  bool: (v) => truthy(v),
  sqrt: (v) => Math.sqrt(num(v, "sqrt")),
  isnan: (v) => Number.isNaN(num(v, "isnan")),
  today: () => todayIso(),
  now: () => new Date().toISOString(),
  date: (v) => (v === undefined || v === null ? todayIso() : String(v).slice(0, 10)),
};

function length(v: unknown): number {
  if (typeof v === "string" || Array.isArray(v)) return v.length;
  if (isMapping(v)) return Object.keys(v).length;
  throw new ExpressionEvalError(`${typeName(v)} has no length`);
}

const FILTERS: Record<string, (v: unknown, ...args: unknown[]) => unknown> = {
  length,
  count: length,
  lower: (v) => toText(v).toLowerCase(),
  upper: (v) => toText(v).toUpperCase(),
  trim: (v) => toText(v).trim(),
  string: toText,
  int: (v) => {
    try {
      return Math.trunc(toNumber(v));
    } catch {
      return 0;
    }
  },
  float: (v) => {
    try {
      return toNumber(v);
    } catch {
      return 0;
    }
  },
  abs: (v) => Math.abs(num(v, "abs")),
  round: (v, digits) => pyRound(num(v, "round"), digits === undefined ? 0 : num(digits, "round")),
  default: (v, fallback = "", boolean) => (v === undefined || (boolean && !truthy(v)) ? fallback : v),
  first: (v) => values(v)[0],
  last: (v) => values(v).at(-1),
  sum: (v, attribute) => HELPERS.sum(v, attribute),
  avg: (v, attribute) => HELPERS.avg(v, attribute),
  min: (v) => HELPERS.min(v),
  max: (v) => HELPERS.max(v),
  join: (v, sep = "") => values(v).map(toText).join(String(sep)),
  list: (v) => (typeof v === "string" ? [...v] : values(v)),
};
FILTERS.d = FILTERS.default;

const TESTS: Record<string, (v: unknown, ...args: unknown[]) => boolean> = {
  none: (v) => v === null,
  number: (v) => typeof v === "number",
  integer: (v) => typeof v === "number" && Number.isInteger(v),
  float: (v) => typeof v === "number" && !Number.isInteger(v),
  string: (v) => typeof v === "string",
  boolean: (v) => typeof v === "boolean",
  true: (v) => v === true,
  false: (v) => v === false,
  mapping: isMapping,
  sequence: (v) => Array.isArray(v) || typeof v === "string" || isMapping(v),
  iterable: (v) => Array.isArray(v) || typeof v === "string" || isMapping(v),
  even: (v) => num(v, "even") % 2 === 0,
  odd: (v) => Math.abs(num(v, "odd") % 2) === 1,
  divisibleby: (v, n) => num(v, "divisibleby") % num(n, "divisibleby") === 0,
  eq: (v, o) => pyEquals(v, o),
  ne: (v, o) => !pyEquals(v, o),
  lt: (v, o) => order(v, o) < 0,
  le: (v, o) => order(v, o) <= 0,
  gt: (v, o) => order(v, o) > 0,
  ge: (v, o) => order(v, o) >= 0,
  in: (v, o) => contains(o, v),
  empty: (v) => !truthy(v),
};

// --------------------------------------------------------------------------- evaluation

const UNDEFINED = Symbol("undefined");

function lookup(node: Node, scope: Scope, lenient: boolean): unknown {
  if (node.kind === "name") {
    if (Object.prototype.hasOwnProperty.call(scope, node.name)) return scope[node.name];
    if (lenient) return UNDEFINED;
    throw new ExpressionEvalError(`'${node.name}' is undefined`);
  }
  if (node.kind === "attr" || node.kind === "item") {
    const obj = lookup(node.object, scope, lenient);
    if (obj === UNDEFINED) return UNDEFINED;
    const key = node.kind === "attr" ? node.attr : evaluate(node.index, scope);
    if (isMapping(obj) && typeof key === "string" && Object.prototype.hasOwnProperty.call(obj, key)) return obj[key];
    if ((Array.isArray(obj) || typeof obj === "string") && typeof key === "number" && Number.isInteger(key)) {
      const i = key < 0 ? obj.length + key : key;
      if (i >= 0 && i < obj.length) return obj[i];
    }
    if (lenient) return UNDEFINED;
    throw new ExpressionEvalError(`${typeName(obj)} has no ${typeof key === "string" ? `'${key}'` : `item ${String(key)}`}`);
  }
  return evaluate(node, scope);
}

/** The value of an expression (a tree from `parse`, or its text) in a scope of names. */
export function evaluate(expr: Node | string, scope: Scope): unknown {
  const node = typeof expr === "string" ? parse(expr) : expr;
  switch (node.kind) {
    case "lit":
      return node.value;
    case "name":
    case "attr":
    case "item":
      return lookup(node, scope, false);
    case "list":
      return node.items.map((n) => evaluate(n, scope));
    case "dict":
      return Object.fromEntries(node.entries.map(([k, v]) => [toText(evaluate(k, scope)), evaluate(v, scope)]));
    case "not":
      return !truthy(evaluate(node.operand, scope));
    case "neg": {
      const v = num(evaluate(node.operand, scope), "a sign");
      return node.sign === "-" ? -v : v;
    }
    case "and": {
      const left = evaluate(node.left, scope);
      return truthy(left) ? evaluate(node.right, scope) : left;
    }
    case "or": {
      const left = evaluate(node.left, scope);
      return truthy(left) ? left : evaluate(node.right, scope);
    }
    case "compare": {
      let left = evaluate(node.first, scope);
      for (const [op, rightNode] of node.ops) {
        const right = evaluate(rightNode, scope);
        let ok: boolean;
        switch (op) {
          case "==": ok = pyEquals(left, right); break;
          case "!=": ok = !pyEquals(left, right); break;
          case "<": ok = order(left, right) < 0; break;
          case "<=": ok = order(left, right) <= 0; break;
          case ">": ok = order(left, right) > 0; break;
          case ">=": ok = order(left, right) >= 0; break;
          case "in": ok = contains(right, left); break;
          default: ok = !contains(right, left);
        }
        if (!ok) return false;
        left = right;
      }
      return true;
    }
    case "binary":
      return binary(node.op, evaluate(node.left, scope), evaluate(node.right, scope));
    case "test": {
      if (node.test === "defined" || node.test === "undefined") {
        const v = lookup(node.operand, scope, true);
        const defined = v !== UNDEFINED;
        return (node.test === "defined" ? defined : !defined) !== node.negated;
      }
      const test = TESTS[node.test];
      if (!test) throw new ExpressionEvalError(`there is no test '${node.test}'`);
      const args = node.args.map((a) => evaluate(a, scope));
      return test(evaluate(node.operand, scope), ...args) !== node.negated;
    }
    case "filter": {
      const filter = FILTERS[node.filter];
      if (!filter) throw new ExpressionEvalError(`there is no filter '${node.filter}'`);
      const operand = node.filter === "default" || node.filter === "d" ? lookup(node.operand, scope, true) : evaluate(node.operand, scope);
      const v = filter(operand === UNDEFINED ? undefined : operand, ...node.args.map((a) => evaluate(a, scope)));
      return v;
    }
    case "call": {
      if (node.callee.kind !== "name") throw new ExpressionEvalError("only the helpers can be called");
      const fn = HELPERS[node.callee.name];
      if (!fn) throw new ExpressionEvalError(`'${node.callee.name}' is not a helper`);
      return fn(...node.args.map((a) => evaluate(a, scope)));
    }
    case "cond":
      return truthy(evaluate(node.test, scope))
        ? evaluate(node.then, scope)
        : node.otherwise
          ? evaluate(node.otherwise, scope)
          : null;
  }
}

function binary(op: string, a: unknown, b: unknown): unknown {
  if (op === "~") return toText(a) + toText(b);
  if (op === "+") {
    if (typeof a === "string" && typeof b === "string") return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    return num(a, "+") + num(b, "+");
  }
  const x = num(a, op);
  const y = num(b, op);
  switch (op) {
    case "-": return x - y;
    case "*": return x * y;
    case "**": return x ** y;
  }
  if (y === 0) throw new ExpressionEvalError("division by zero");
  if (op === "/") return x / y;
  if (op === "//") return Math.floor(x / y);
  return ((x % y) + y) % y; // Python's %: the sign of the divisor
}

/**
 * Whether a `visible_if` condition holds: false when it fails to evaluate (as on the server);
 * true when this evaluator cannot read it, so the field stays on screen and the server decides.
 */
export function visible(source: string | null | undefined, scope: Scope): boolean {
  if (!source || !source.trim()) return true;
  let node: Node;
  try {
    node = parse(source);
  } catch {
    return true;
  }
  try {
    return truthy(evaluate(node, scope));
  } catch {
    return false;
  }
}

/** The names an expression reads: bare names, `answers.<x>` and `row.<x>` (like the server's). */
export function references(source: string): { bare: Set<string>; answers: Set<string>; row: Set<string> } {
  const out = { bare: new Set<string>(), answers: new Set<string>(), row: new Set<string>() };
  let root: Node;
  try {
    root = parse(source);
  } catch {
    return out;
  }
  const walk = (n: Node): void => {
    switch (n.kind) {
      case "name":
        out.bare.add(n.name);
        return;
      case "attr":
      case "item":
        if (n.object.kind === "name" && (n.object.name === "answers" || n.object.name === "row")) {
          const key = n.kind === "attr" ? n.attr : n.index.kind === "lit" && typeof n.index.value === "string" ? n.index.value : null;
          if (key) (n.object.name === "answers" ? out.answers : out.row).add(key);
        }
        walk(n.object);
        if (n.kind === "item") walk(n.index);
        return;
      case "call":
        walk(n.callee);
        n.args.forEach(walk);
        return;
      case "list":
        n.items.forEach(walk);
        return;
      case "dict":
        n.entries.forEach(([k, v]) => (walk(k), walk(v)));
        return;
      case "not":
      case "neg":
        walk(n.operand);
        return;
      case "and":
      case "or":
      case "binary":
        walk(n.left);
        walk(n.right);
        return;
      case "compare":
        walk(n.first);
        n.ops.forEach(([, r]) => walk(r));
        return;
      case "test":
      case "filter":
        walk(n.operand);
        n.args.forEach(walk);
        return;
      case "cond":
        walk(n.test);
        walk(n.then);
        if (n.otherwise) walk(n.otherwise);
        return;
      case "lit":
        return;
    }
  };
  walk(root);
  return out;
}

/** A message when an expression cannot be read here, else null (for the builder's editor). */
export function syntaxProblem(source: string): string | null {
  try {
    parse(source);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
