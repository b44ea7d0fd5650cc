// The files of the app payload, chosen by the package manifest: the project's own files under the include rules and
// the production node_modules (npm's tree from package-lock.json without devDependencies), trimmed by the rules.
import fs from "node:fs";
import path from "node:path";
import { engineFlavors, engineBuildOptions, type EngineFlavor } from "../../electron/engine/native/build-identity.js";
import { engineExcludeRules, engineFolderForKey, extraResources, isPackaged, packageRules, type PackageRules } from "./package-manifest.js";

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readPackage = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as PackageJson;

/** Where Node would find package `name` from the package folder `from` (relative): nested node_modules first. */
function resolvePackageDir(root: string, from: string, name: string): string | null {
  let dir = from;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (fs.existsSync(path.join(root, candidate, "package.json"))) return candidate;
    if (!dir) return null;
    const up = dir.lastIndexOf("/node_modules/");
    dir = up >= 0 ? dir.slice(0, up) : "";
  }
}

/**
 * Folders of production packages (relative, e.g. "node_modules/zod"): the root's dependencies and, transitively,
 * theirs, optional ones where installed, required peers; not optional peers (node-llama-cpp's typescript).
 */
export function productionPackageDirs(root: string): string[] {
  const found = new Set<string>();
  const visit = (from: string, pkg: PackageJson) => {
    const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
    const names = [
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
    ];
    for (const name of names) {
      const dir = resolvePackageDir(root, from, name);
      if (!dir || found.has(dir)) continue;
      found.add(dir);
      visit(dir, readPackage(path.join(root, dir)));
    }
  };
  visit("", readPackage(root));
  return [...found].sort();
}

function walk(root: string, rel: string, out: string[]) {
  const abs = path.join(root, rel);
  const stat = fs.lstatSync(abs);
  if (stat.isDirectory()) {
    for (const name of fs.readdirSync(abs)) walk(root, rel ? `${rel}/${name}` : name, out);
  } else {
    out.push(rel);
  }
}

/** The engine flavor a package ships (LYNX_ENGINE_BUILD, portable by default) and its localBuilds folder. */
export function packagedEngine(root: string, env: NodeJS.ProcessEnv = process.env): { flavor: EngineFlavor; key: string; folder: string | null } {
  const requested = env.LYNX_ENGINE_BUILD;
  const flavor: EngineFlavor = requested && (engineFlavors as readonly string[]).includes(requested) ? (requested as EngineFlavor) : "portable";
  const { key } = engineBuildOptions(root, false, flavor);
  return { flavor, key, folder: engineFolderForKey(root, key) };
}

/** The manifest's rules with every engine build but the packaged one left out. */
export function payloadRules(root: string, engineFolder: string | null): PackageRules {
  // with no build found every localBuilds folder is left out: dist.ts refuses to pack then
  return packageRules(engineExcludeRules(root, engineFolder ?? ""));
}

/** Every file (relative, forward slashes) that goes into app.asar or app.asar.unpacked. */
export function payloadFiles(root: string, rules: PackageRules): string[] {
  const candidates: string[] = [];
  for (const rule of rules.include) {
    if (rule === "node_modules/") continue;
    if (fs.existsSync(path.join(root, rule))) walk(root, rule.replace(/\/$/, ""), candidates);
  }
  const packages = productionPackageDirs(root);
  for (const dir of packages) {
    // nested packages are walked on their own
    const nested = new Set(packages.filter((p) => p.startsWith(dir + "/node_modules/")).map((p) => p.slice(dir.length + 1)));
    const files: string[] = [];
    walk(root, dir, files);
    for (const file of files) {
      const inside = file.slice(dir.length + 1);
      if ([...nested].some((n) => inside === n || inside.startsWith(n + "/"))) continue;
      candidates.push(file);
    }
  }
  return [...new Set(candidates)].filter((rel) => isPackaged(rules, rel)).sort();
}

/** The manifest's resource filters are "*.ext" globs. */
function matchesEnding(name: string, glob: string): boolean {
  if (!glob.startsWith("*.") || glob.slice(1).includes("*")) throw new Error(`unsupported resource filter ${glob}: use *.ext`);
  return name.endsWith(glob.slice(1));
}

/** The extra resources (bundled model), as [source, destination relative to resources/]. */
export function extraResourceFiles(root: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const entry of extraResources) {
    const dir = path.join(root, entry.from);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      if (entry.filter.some((glob) => matchesEnding(name, glob))) out.push([path.join(dir, name), `${entry.to}/${name}`]);
    }
  }
  return out;
}
