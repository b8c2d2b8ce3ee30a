// Resolves a mutation scope's entries to what Stryker's `mutate` accepts. An entry is a path
// or glob (mutated whole), or `file.ts#name,name,…` naming functions, methods (`name`, or
// `Class.name` when a file has two of that name), arrow functions bound to a const, or whole
// classes: each becomes `file.ts:from-to` with the lines of that declaration. Names instead of
// line numbers keep the scopes right when code moves; a name that no longer exists is an error
// (the test suite resolves every scope, so a rename that breaks one fails there).
import { readFileSync } from "node:fs";
import ts from "typescript";

/** Every named declaration of a source file with its 1-based line range. */
function declarations(file) {
  const text = readFileSync(file, "utf8");
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const lines = (node) => [src.getLineAndCharacterOfPosition(node.getStart(src)).line + 1, src.getLineAndCharacterOfPosition(node.getEnd()).line + 1];
  const add = (names, node) => found.push({ names, range: lines(node) });
  const visit = (node) => {
    if (ts.isFunctionDeclaration(node) && node.name) add([node.name.text], node);
    else if (ts.isClassDeclaration(node) && node.name) {
      add([node.name.text], node);
      for (const member of node.members) {
        if ((ts.isMethodDeclaration(member) || ts.isGetAccessor(member) || ts.isSetAccessor(member) || ts.isConstructorDeclaration(member)) && (member.name || ts.isConstructorDeclaration(member))) {
          const name = ts.isConstructorDeclaration(member) ? "constructor" : member.name.getText(src);
          add([name, `${node.name.text}.${name}`], member);
        }
      }
      return;
    } else if (ts.isVariableStatement(node)) {
      for (const d of node.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))) add([d.name.text], node);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return found;
}

/** One scope entry → Stryker `mutate` entries; throws naming the file and name that do not resolve. */
export function resolveMutateEntry(entry) {
  const hash = entry.indexOf("#");
  if (hash < 0) return [entry];
  const file = entry.slice(0, hash);
  const names = entry.slice(hash + 1).split(",").map((s) => s.trim()).filter(Boolean);
  const decls = declarations(file);
  return names.map((name) => {
    const hits = decls.filter((d) => d.names.includes(name));
    if (hits.length === 0) throw new Error(`mutation scope: ${file} declares no function, method or class named ${name}. Fix: update scripts/mutation-scopes.mjs to the code's current names`);
    if (hits.length > 1) throw new Error(`mutation scope: ${file} declares ${name} ${hits.length} times. Fix: qualify it as Class.${name} in scripts/mutation-scopes.mjs`);
    const [from, to] = hits[0].range;
    return `${file}:${from}-${to}`;
  });
}

/** A scope's `mutate` list resolved for Stryker. */
export function resolveMutate(entries) {
  return entries.flatMap(resolveMutateEntry);
}
