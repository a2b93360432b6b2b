import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

// Local rather than test/helpers.ts, which loads the Pulumi SDK this test has no use for.
const ROOT = path.resolve(__dirname, "..");

/**
 * The rooms of the tree and the rooms each may import from (besides itself). `scripts/`, `tools/`, `test/` and
 * `policy/` may import anything; `problems.ts` is the one root file every room may use. `stacks/config/` (the config
 * language) is a room of its own inside `stacks/` (the composition): the composition reads the config, the config
 * never the composition.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  "gpu/": ["problems.ts"],
  "planner/": ["gpu/", "problems.ts"],
  "components/": ["gpu/", "problems.ts"],
  "stacks/config/": ["components/", "gpu/", "problems.ts"],
  "stacks/": ["stacks/config/", "components/", "gpu/", "problems.ts"],
};

/** GPU knowledge and the planner are plain functions over plain data. */
const NO_PULUMI = ["gpu/", "planner/"];

// A room inside another comes before it: a file lies in the first room its path starts with.
const ROOMS = [
  "gpu/",
  "planner/",
  "components/",
  "stacks/config/",
  "stacks/",
  "scripts/",
  "tools/",
  "test/",
  "policy/",
];

/**
 * components/k8s/ names its files one way. A component file declares a ComponentResource and is named after it
 * (`gpu-operator.ts`). A pure module is named after the component it serves, `<component>-<part>.ts`
 * (`gpu-operator-values.ts`, `metrics-adapter-rules.ts`), and loads no Pulumi package. A pure module several
 * components use keeps a neutral name and is listed here with what they share.
 */
const K8S = "components/k8s/";
const K8S_SHARED: Record<string, string> = {
  "helm-values.ts": "merging extra Helm values and refusing those gpushare owns, for every chart it installs",
};

const DECLARES_COMPONENT = /\bextends\s+pulumi\.ComponentResource\b/;

// Type-only imports are erased: only the others load the SDK.
const LOADS_PULUMI = /^(?:import|export)\s+(?!type\s)[^;]*?\bfrom\s+"@pulumi\/|\b(?:require|import)\s*\(\s*"@pulumi\//m;

/** What breaks the naming of components/k8s/, given each file's name and source. */
function k8sNamingProblems(files: readonly { name: string; source: string }[]): string[] {
  const components = files.filter((f) => DECLARES_COMPONENT.test(f.source)).map((f) => f.name.replace(/\.ts$/, ""));
  const names = new Set(files.map((f) => f.name));
  const listed = Object.keys(K8S_SHARED);
  return [
    ...files
      .filter((f) => !DECLARES_COMPONENT.test(f.source))
      .flatMap(({ name, source }) => [
        ...(listed.includes(name) || components.some((c) => name.startsWith(`${c}-`))
          ? []
          : [`${K8S}${name}: a pure module named after no component; name it <component>-<part>.ts`]),
        ...(LOADS_PULUMI.test(source) ? [`${K8S}${name}: a pure module that loads Pulumi`] : []),
      ]),
    ...listed.filter((name) => !names.has(name)).map((name) => `${K8S}${name}: listed here, but not in the folder`),
  ];
}

/** The room a project-relative path lies in: a folder above, or the root file itself. */
function roomOf(file: string): string {
  return ROOMS.find((r) => file.startsWith(r)) ?? file;
}

/** Every `from "x"`, `import("x")` and `require("x")` of a source file. */
function importSpecifiers(source: string): string[] {
  const re = /\bfrom\s+"([^"]+)"|\bimport\s*\(\s*"([^"]+)"\s*\)|\brequire\s*\(\s*"([^"]+)"\s*\)|^import\s+"([^"]+)"/gm;
  return [...source.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]);
}

function tsFiles(room: string): string[] {
  return (fs.readdirSync(path.join(ROOT, room), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.posix.join(room, f.split(path.sep).join("/")));
}

interface Import {
  file: string;
  specifier: string;
  /** The project-relative path a relative specifier names; undefined for a package. */
  target?: string;
}

function importsOf(file: string): Import[] {
  return importSpecifiers(fs.readFileSync(path.join(ROOT, file), "utf8")).map((specifier) =>
    specifier.startsWith(".")
      ? { file, specifier, target: path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) }
      : { file, specifier },
  );
}

/** The imports of the restricted rooms that leave the rooms they may use, as `file -> specifier`. */
function wrongWay(imports: readonly Import[]): string[] {
  return imports
    .filter(({ file, target }) => {
      if (target === undefined) return false;
      const from = roomOf(file);
      const allowed = MAY_IMPORT[from];
      const to = roomOf(target.endsWith(".ts") ? target : `${target}.ts`);
      return allowed !== undefined && to !== from && !allowed.includes(to);
    })
    .map(({ file, specifier }) => `${file} -> ${specifier}`);
}

const restricted = Object.keys(MAY_IMPORT).flatMap((room) =>
  tsFiles(room)
    .filter((file) => roomOf(file) === room)
    .flatMap(importsOf),
);

describe("the layout", () => {
  it("reads every restricted room's imports", () => {
    // A regex that matched nothing would pass the rules below for free.
    expect(restricted.length).toBeGreaterThan(100);
    expect(restricted).toContainEqual({ file: "planner/plan.ts", specifier: "../gpu/memory", target: "gpu/memory" });
    expect(restricted).toContainEqual({
      file: "stacks/args.ts",
      specifier: "./config/parse",
      target: "stacks/config/parse",
    });
    // Read once, in its own room, though stacks/ holds stacks/config/ on disk.
    const parse = "stacks/config/parse.ts";
    expect(restricted.filter(({ file }) => file === parse)).toEqual(importsOf(parse));
  });

  it("imports one way: stacks/ -> stacks/config/ -> components/ -> gpu/, planner/ -> gpu/, all of them -> problems.ts", () => {
    expect(wrongWay(restricted)).toEqual([]);
  });

  it("fails when a room imports against the direction", () => {
    const imports = [
      { file: "gpu/memory.ts", specifier: "../planner/plan", target: "planner/plan" },
      {
        file: "components/k8s/triton-server-spec.ts",
        specifier: "../../stacks/config/parse",
        target: "stacks/config/parse",
      },
      { file: "planner/plan.ts", specifier: "../components/defaults", target: "components/defaults" },
      { file: "stacks/platform.ts", specifier: "../scripts/cli", target: "scripts/cli" },
      { file: "stacks/config/parse.ts", specifier: "../../planner/input", target: "planner/input" },
      { file: "scripts/plan.ts", specifier: "../planner/plan", target: "planner/plan" },
      { file: "stacks/config/parse.ts", specifier: "../serving", target: "stacks/serving" },
      { file: "stacks/config/rules/bounds.ts", specifier: "../../text", target: "stacks/text" },
      { file: "stacks/serving.ts", specifier: "./config/parse", target: "stacks/config/parse" },
      { file: "stacks/config/parse.ts", specifier: "./rules/bounds", target: "stacks/config/rules/bounds" },
    ];
    expect(wrongWay(imports)).toEqual([
      "gpu/memory.ts -> ../planner/plan",
      "components/k8s/triton-server-spec.ts -> ../../stacks/config/parse",
      "planner/plan.ts -> ../components/defaults",
      "stacks/platform.ts -> ../scripts/cli",
      "stacks/config/parse.ts -> ../../planner/input",
      "stacks/config/parse.ts -> ../serving",
      "stacks/config/rules/bounds.ts -> ../../text",
    ]);
  });

  it("keeps Pulumi out of gpu/ and planner/", () => {
    const pulumi = NO_PULUMI.flatMap((room) => tsFiles(room).flatMap(importsOf))
      .filter(({ specifier }) => specifier.startsWith("@pulumi/"))
      .map(({ file, specifier }) => `${file} -> ${specifier}`);
    expect(pulumi).toEqual([]);
  });

  it("names every file of components/k8s/ after a component, or lists it as shared", () => {
    const files = fs
      .readdirSync(path.join(ROOT, K8S))
      .filter((name) => name.endsWith(".ts"))
      .map((name) => ({ name, source: fs.readFileSync(path.join(ROOT, K8S, name), "utf8") }));
    expect(files.filter((f) => DECLARES_COMPONENT.test(f.source)).map((f) => f.name)).toEqual([
      "dra-driver.ts",
      "gpu-operator.ts",
      "metrics-adapter.ts",
      "model-store.ts",
      "monitoring.ts",
      "triton-server.ts",
    ]);
    expect(k8sNamingProblems(files)).toEqual([]);
  });

  it("fails when a pure module of components/k8s/ is named after no component, or loads Pulumi", () => {
    const component = "export class TritonServer extends pulumi.ComponentResource {}";
    const files = [
      { name: "triton-server.ts", source: `import * as pulumi from "@pulumi/pulumi";\n${component}` },
      { name: "triton-server-spec.ts", source: 'import type * as k8s from "@pulumi/kubernetes";' },
      { name: "triton-spec.ts", source: 'import { x } from "./y";' },
      { name: "triton-server-rbac.ts", source: 'import * as k8s from "@pulumi/kubernetes";' },
    ];
    expect(k8sNamingProblems(files)).toEqual([
      "components/k8s/triton-spec.ts: a pure module named after no component; name it <component>-<part>.ts",
      "components/k8s/triton-server-rbac.ts: a pure module that loads Pulumi",
      "components/k8s/helm-values.ts: listed here, but not in the folder",
    ]);
  });

  it("keeps Pulumi out of test/support/config.ts and all it imports, so the mutation run reloads it fast", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const { target } of importsOf(file)) {
        if (target !== undefined)
          visit(fs.existsSync(path.join(ROOT, `${target}.ts`)) ? `${target}.ts` : `${target}/index.ts`);
      }
    };
    visit("test/support/config.ts");
    expect(seen).toContain("stacks/config/parse.ts");
    expect([...seen].filter((f) => LOADS_PULUMI.test(fs.readFileSync(path.join(ROOT, f), "utf8")))).toEqual([]);
  });

  it("finds the specifiers of every import form", () => {
    const source = [
      'import { a } from "./a";',
      'import type { B } from "../b";',
      'export { c } from "./c";',
      'import "./side-effect";',
      "import {",
      "  d,",
      '} from "./d";',
      'const e = await import("./e");',
      'const f = require("./f");',
    ].join("\n");
    expect(importSpecifiers(source)).toEqual(["./a", "../b", "./c", "./side-effect", "./d", "./e", "./f"]);
  });
});
