// Static evaluation of the strings a route path or a request path is built from. Routes are
// declared with literals, but also through small helpers (`selfAction('join', '/…')`), loops over
// arrays (`for (const action of ['invite', 'kick'])`) and constants (`${BASE}/global/`); the
// TypeScript checker finds the declaration behind each identifier and we evaluate that.
import ts from 'typescript';

/** Stands for a part we could not evaluate (a user ID in a test, say). */
export const WILDCARD = '\u0000';

/** Upper bound on the strings one expression may expand to (loops × helpers). */
const MAX_EXPANSIONS = 64;

/** Values of the parameters of the function being evaluated. */
type Env = ReadonlyMap<ts.Symbol, string[]>;
const NO_ENV: Env = new Map();

export interface Evaluator {
  program: ts.Program;
  checker: ts.TypeChecker;
  /**
   * Every string the expression can take. With `lenient`, parts that cannot be evaluated become
   * WILDCARD; without it, the result is null.
   */
  strings(expr: ts.Expression, lenient: boolean): string[] | null;
}

export function createEvaluator(files: string[]): Evaluator {
  // No lib, no types, no resolution outside the given files: only symbols declared in our own
  // sources matter, and this keeps the scan to a second or so.
  const program = ts.createProgram(files, {
    noLib: true,
    types: [],
    noResolve: true,
    allowJs: false,
    allowImportingTsExtensions: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const checker = program.getTypeChecker();

  const unwrap = (e: ts.Expression): ts.Expression => {
    while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isTypeAssertionExpression(e) || ts.isNonNullExpression(e)) {
      e = e.expression;
    }
    return e;
  };

  const cartesian = (parts: string[][]): string[] | null => {
    let acc = [''];
    for (const options of parts) {
      const next: string[] = [];
      for (const a of acc) for (const o of options) next.push(a + o);
      if (next.length > MAX_EXPANSIONS) return null;
      acc = next;
    }
    return acc;
  };

  /** Calls of the function that declares `param`, each giving the argument at its position. */
  const argumentsFor = (param: ts.ParameterDeclaration, lenient: boolean, depth: number): string[] | null => {
    const fn = param.parent;
    const index = fn.parameters.indexOf(param);
    let fnSymbol: ts.Symbol | undefined;
    if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && ts.isVariableDeclaration(fn.parent)) {
      fnSymbol = checker.getSymbolAtLocation(fn.parent.name);
    } else if (ts.isFunctionDeclaration(fn) && fn.name) {
      fnSymbol = checker.getSymbolAtLocation(fn.name);
    }
    if (!fnSymbol) return null;
    const out: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && checker.getSymbolAtLocation(node.expression) === fnSymbol) {
        const arg = node.arguments[index];
        const values = arg ? evaluate(arg, lenient, depth + 1, NO_ENV) : param.initializer ? evaluate(param.initializer, lenient, depth + 1, NO_ENV) : null;
        if (values) out.push(...values);
      }
      ts.forEachChild(node, visit);
    };
    visit(fn.getSourceFile());
    return out.length > 0 ? out : null;
  };

  const fromIdentifier = (id: ts.Identifier, lenient: boolean, depth: number, env: Env): string[] | null => {
    // `{ path }`: the symbol at the name is the property; the value is the variable of that name.
    let symbol = ts.isShorthandPropertyAssignment(id.parent) && id.parent.name === id ? checker.getShorthandAssignmentValueSymbol(id.parent) : checker.getSymbolAtLocation(id);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) {
      try {
        symbol = checker.getAliasedSymbol(symbol);
      } catch {
        return null;
      }
    }
    if (symbol && env.has(symbol)) return env.get(symbol)!;
    const decl = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
    if (!decl) return null;
    if (ts.isVariableDeclaration(decl)) {
      const list = decl.parent;
      const loop = ts.isVariableDeclarationList(list) ? list.parent : undefined;
      if (loop && ts.isForOfStatement(loop)) return evaluate(loop.expression, lenient, depth + 1, env);
      // Only constants: a `let` may change before use.
      if (!ts.isVariableDeclarationList(list) || !(list.flags & ts.NodeFlags.Const) || !decl.initializer) return null;
      return evaluate(decl.initializer, lenient, depth + 1, NO_ENV);
    }
    if (ts.isParameter(decl)) return argumentsFor(decl, lenient, depth);
    return null;
  };

  /** `room(roomId)` with `const room = (id) => \`/…/rooms/${id}\``: the body, parameters bound to the arguments. */
  const fromCall = (call: ts.CallExpression, lenient: boolean, depth: number, env: Env): string[] | null => {
    if (!ts.isIdentifier(call.expression)) return null;
    const decl = checker.getSymbolAtLocation(call.expression)?.valueDeclaration;
    let fn: ts.SignatureDeclaration & { body?: ts.ConciseBody } | undefined;
    if (decl && ts.isFunctionDeclaration(decl)) fn = decl;
    else if (decl && ts.isVariableDeclaration(decl) && decl.initializer) {
      const init = unwrap(decl.initializer);
      if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) fn = init;
    }
    const body = fn?.body;
    if (!fn || !body) return null;
    let result: ts.Expression | undefined;
    if (!ts.isBlock(body)) result = body;
    else if (body.statements.length === 1 && ts.isReturnStatement(body.statements[0])) result = body.statements[0].expression;
    if (!result) return null;
    const inner = new Map<ts.Symbol, string[]>();
    for (const [i, param] of fn.parameters.entries()) {
      const sym = ts.isIdentifier(param.name) ? checker.getSymbolAtLocation(param.name) : undefined;
      if (!sym) continue;
      const arg = call.arguments[i];
      const v = arg ? evaluate(arg, lenient, depth + 1, env) : lenient ? [WILDCARD] : null;
      if (!v) return null;
      inner.set(sym, v);
    }
    return evaluate(result, lenient, depth + 1, inner);
  };

  function evaluate(expr: ts.Expression, lenient: boolean, depth: number, env: Env): string[] | null {
    const fail = (): string[] | null => (lenient ? [WILDCARD] : null);
    if (depth > 12) return fail();
    const e = unwrap(expr);
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return [e.text];
    if (ts.isTemplateExpression(e)) {
      const parts: string[][] = [[e.head.text]];
      for (const span of e.templateSpans) {
        const v = evaluate(span.expression, lenient, depth + 1, env);
        if (!v) return null;
        parts.push(v, [span.literal.text]);
      }
      return cartesian(parts) ?? fail();
    }
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const l = evaluate(e.left, lenient, depth + 1, env);
      const r = evaluate(e.right, lenient, depth + 1, env);
      return l && r ? (cartesian([l, r]) ?? fail()) : null;
    }
    if (ts.isArrayLiteralExpression(e)) {
      // A loop variable's values: each element.
      const out: string[] = [];
      for (const el of e.elements) {
        const v = evaluate(el, lenient, depth + 1, env);
        if (!v) return null;
        out.push(...v);
      }
      return out;
    }
    if (ts.isConditionalExpression(e)) {
      const a = evaluate(e.whenTrue, lenient, depth + 1, env);
      const b = evaluate(e.whenFalse, lenient, depth + 1, env);
      return a && b ? [...a, ...b] : null;
    }
    if (ts.isIdentifier(e)) return fromIdentifier(e, lenient, depth, env) ?? fail();
    if (ts.isCallExpression(e)) return fromCall(e, lenient, depth, env) ?? fail();
    return fail();
  }

  return { program, checker, strings: (expr, lenient) => evaluate(expr, lenient, 0, NO_ENV) };
}

/** The value of property `name` in an object literal (`path: …` or shorthand `path`). */
export function propertyOf(obj: ts.ObjectLiteralExpression, name: string): ts.Expression | undefined {
  for (const p of obj.properties) {
    if (ts.isPropertyAssignment(p) && p.name.getText() === name) return p.initializer;
    if (ts.isShorthandPropertyAssignment(p) && p.name.text === name) return p.name;
  }
  return undefined;
}
