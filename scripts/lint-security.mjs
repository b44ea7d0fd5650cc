// `npm run lint:security`: Electronegativity (Doyensec's Electron security linter) over electron/, offline.
// Fails (exit 1) when a finding has no answer in docs/security.md (the "Electronegativity findings" table: a row
// per check id, naming the files it answers for), when a file could not be parsed (it would go unchecked), or
// when the renderer's CSP, which the tool cannot read (it is joined from parts), has a weakness by the tool's
// own CSP evaluator.
//   npm run lint:security [-- --verbose]
//
// Two things the tool would otherwise do, handled here:
//  - it fetches translations and release lists from the web (through `got`): every such call fails at once;
//  - its TypeScript parser (@typescript-eslint/typescript-estree 4, hoisted to the top of node_modules) would
//    load this project's TypeScript 7, which has no JavaScript API: it gets the TypeScript 4.2 the tool ships.

import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const verbose = process.argv.includes("--verbose");
const toolDir = path.dirname(require.resolve("@doyensec/electronegativity/package.json"));
const toolRequire = createRequire(path.join(toolDir, "package.json"));
const ownTypescript = toolRequire.resolve("typescript");
const excluded = ["AvailableSecurityFixesGlobalCheck"]; // needs the network (Electron's release list)

const offlineGot = () => Promise.reject(new Error("offline: Electronegativity runs without the network here"));
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "got") return offlineGot;
  if (request === "typescript" && parent?.filename?.includes(`${path.sep}@typescript-eslint${path.sep}`)) return load.call(this, ownTypescript, parent, isMain);
  return load.call(this, request, parent, isMain);
};

const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const electronVersion = pkg.devDependencies?.electron ?? pkg.dependencies?.electron;
if (!electronVersion) throw new Error("package.json names no electron version");

/** Check id -> files it is answered for, from the findings table of docs/security.md. */
function answers() {
  const doc = readFileSync(path.join(root, "docs", "security.md"), "utf8");
  const section = doc.split(/^## /m).find((s) => s.startsWith("Electronegativity findings"));
  if (!section) throw new Error('docs/security.md has no "## Electronegativity findings" section');
  const out = new Map();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const id = /^`([A-Z0-9_]+)`$/.exec(cells[1] ?? "")?.[1];
    if (!id) continue;
    const files = [...(cells[2] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    out.set(id, new Set([...(out.get(id) ?? []), ...files]));
  }
  return out;
}

/** The renderer's CSP as security.ts builds it: [...parts].join(separator) assigned to RENDERER_CSP. */
function rendererCsp() {
  const { parse } = toolRequire("@babel/parser");
  const file = path.join(root, "electron", "main", "security.ts");
  const ast = parse(readFileSync(file, "utf8"), { sourceType: "module", plugins: ["typescript"] });
  for (const statement of ast.program.body) {
    const declaration = statement.type === "ExportNamedDeclaration" ? statement.declaration : statement;
    for (const d of declaration?.type === "VariableDeclaration" ? declaration.declarations : []) {
      const init = d.init;
      if (d.id.name !== "RENDERER_CSP" || init?.type !== "CallExpression" || init.callee.type !== "MemberExpression") continue;
      const parts = init.callee.object.elements ?? [];
      const separator = init.arguments[0];
      if (init.callee.property.name === "join" && separator?.type === "StringLiteral" && parts.every((p) => p.type === "StringLiteral")) {
        return parts.map((p) => p.value).join(separator.value);
      }
    }
  }
  throw new Error("electron/main/security.ts: RENDERER_CSP is no longer [string literals].join(string): update scripts/lint-security.mjs");
}

// the tool prints a progress bar and its own table through console.log when it runs as its CLI: keep it quiet
const run = toolRequire("./dist/runner.js");
const print = console.log;
if (!verbose) console.log = () => {};
let result;
try {
  result = await (run.default ?? run)(
    {
      input: path.join(root, "electron"),
      customScan: [],
      excludeFromScan: excluded,
      isRelative: true,
      isVerbose: true,
      electronVersionOverride: electronVersion,
      parserPlugins: [],
    },
    false,
  );
} finally {
  console.log = print;
}

const answered = answers();
const rows = result.issues.map((issue) => {
  const file = path.posix.join("electron", issue.file.split(path.sep).join("/"));
  return { id: issue.id, file, at: `${issue.location.line}:${issue.location.column}`, severity: String(issue.severity.name ?? issue.severity), confidence: String(issue.confidence.name ?? issue.confidence), review: issue.manualReview, answered: answered.get(issue.id)?.has(file) ?? false, description: issue.description };
});
const unparsed = result.errors.filter((e) => !e.tolerable);

const { CspParser, CspEvaluator, Version, severities } = toolRequire("@doyensec/csp-evaluator");
const csp = rendererCsp();
const cspAll = new CspEvaluator(new CspParser(csp).csp, Version.CSP3).evaluate();
const cspFindings = cspAll.filter((f) => [severities.HIGH, severities.MEDIUM, severities.SYNTAX].includes(f.severity));
const cspMaybe = cspAll.filter((f) => [severities.HIGH_MAYBE, severities.MEDIUM_MAYBE].includes(f.severity));

console.log(`Electronegativity ${toolRequire("./package.json").version} on electron/ (Electron ${electronVersion}; ${result.atomicChecks} atomic + ${result.globalChecks} global checks; excluded: ${excluded.join(", ")})`);
for (const r of rows) {
  console.log(`  ${r.answered ? "answered  " : "UNANSWERED"} ${r.id} ${r.file}:${r.at} (${r.severity}, ${r.confidence}${r.review ? ", review required" : ""})${r.answered ? "" : `: ${r.description}`}`);
}
for (const e of result.errors) console.log(`  ${e.tolerable ? "warning" : "NOT PARSED"} ${e.file}: ${e.message}`);
const listed = (findings) => findings.map((f) => `${f.directive}: ${f.description}`).join("; ");
console.log(`  renderer CSP (electron/main/security.ts), by the tool's CSP evaluator: ${cspFindings.length === 0 ? "no high, medium or syntax finding" : `FAILED ${listed(cspFindings)}`}${cspMaybe.length > 0 ? `; to review (see docs/security.md): ${listed(cspMaybe)}` : ""}`);
const unanswered = rows.filter((r) => !r.answered);
const summary = { findings: rows.length, answered: rows.length - unanswered.length, unanswered: unanswered.length, unparsedFiles: unparsed.length, cspFindings: cspFindings.length };
console.log(JSON.stringify(summary));
if (unanswered.length > 0 || unparsed.length > 0 || cspFindings.length > 0) {
  console.error("lint:security failed: answer each finding in docs/security.md (Electronegativity findings) or fix it");
  process.exit(1);
}
