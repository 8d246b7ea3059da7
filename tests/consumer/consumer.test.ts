/**
 * A user outside this repository: pack every library package, install the tarballs into an empty
 * project with the root README's command (only effect + @effect/platform + @effect/platform-node
 * besides them, from the local pnpm store), compile a file importing every public module and the
 * README's examples with strict `tsc` (`skipLibCheck: false`), and run the embedding example
 * against agent-sim from its tarball.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { pack, type PackageJson, readJson, repositoryRoot, unwantedInTarball, workspacePackages } from "./support/packages.js"
import { command, tempDir } from "./support/process.js"

/** The consumer command of the root README: `pnpm add ./<tarball>… <other packages>`. */
const readmeInstallCommand = (): ReadonlyArray<string> => {
  const readme = fs.readFileSync(path.join(repositoryRoot, "README.md"), "utf8")
  const line = /^pnpm add (\.\/mirrord-effect-.*)$/m.exec(readme)?.[1]
  if (line === undefined) throw new Error("the root README has no `pnpm add ./mirrord-effect-…` line")
  return line.trim().split(/\s+/)
}

/** `import * as` every public module: the `.` entry and one per top-level module of `./*`. */
const publicModulesFile = (consumer: string, names: ReadonlyArray<string>): string => {
  const specifiers = names.flatMap((name) => {
    const dist = path.join(consumer, "node_modules", name, "dist")
    const modules = fs.readdirSync(dist)
      .filter((file) => file.endsWith(".d.ts") && file !== "index.d.ts")
      .map((file) => `${name}/${file.slice(0, -".d.ts".length)}`)
    return [name, ...modules.sort()]
  })
  const bindings = specifiers.map((specifier, i) => `import * as module${i} from "${specifier}"`)
  return [
    ...bindings,
    `export const modules = { ${specifiers.map((s, i) => `${JSON.stringify(s)}: module${i}`).join(", ")} }`,
    ""
  ].join("\n")
}

const consumerTsconfig = {
  compilerOptions: {
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    target: "ES2022",
    lib: ["ES2022", "DOM"], // effect's own declarations name DOM types (AbortSignal, ReadableStream)
    module: "NodeNext",
    moduleResolution: "NodeNext",
    verbatimModuleSyntax: true,
    // @types/node is the user's own tooling, like typescript: taken from this repository
    typeRoots: [path.join(repositoryRoot, "node_modules/@types")],
    types: ["node"],
    rootDir: ".",
    outDir: "out"
  },
  include: ["publicModules.ts", "tests/**/*.ts", "ws.d.ts"]
}

// @effect/platform-node's own declarations (NodeSocketServer) import `ws` without depending on its
// types: with `skipLibCheck: false` a user adds @types/ws, or declares the two names they use, as
// here. Nothing of ours imports `ws` (packaging.test.ts checks what our declarations import).
const untypedWs = `declare module "ws" {
  export type ServerOptions<WebSocket = unknown, Request = unknown> = { readonly [option: string]: unknown }
  export const WebSocket: unknown
}
`

describe("installing the packed packages outside the monorepo", () => {
  it.scopedLive("packs, installs with the README's command, compiles strictly and runs the embedding example", () =>
    Effect.gen(function*() {
      const timings: Array<string> = []
      const timed = <A, E, R>(step: string, effect: Effect.Effect<A, E, R>) =>
        effect.pipe(
          Effect.timed,
          Effect.map(([duration, a]) => {
            timings.push(`${step} ${(Duration.toMillis(duration) / 1000).toFixed(1)} s`)
            return a
          })
        )
      const libraries = workspacePackages().filter((pkg) => pkg.isLibrary)
      const consumer = yield* tempDir("mirrord-effect-consumer-")

      // 1. the README's command names exactly the library tarballs
      const install = readmeInstallCommand()
      expect(install.filter((arg) => arg.endsWith(".tgz")).sort()).toEqual(libraries.map((pkg) => `./${pkg.tarball}`).sort())
      const others = install.filter((arg) => !arg.endsWith(".tgz")).map((arg) => arg.replace(/(.)@.*$/, "$1")).sort()
      expect(others).toEqual(["@effect/platform", "@effect/platform-node", "effect"])

      // 2. pack: only dist (js, maps, d.ts), README and package.json (packaging.test.ts: a README each)
      const contents = yield* timed("pack", Effect.forEach(libraries, (pkg) => pack(pkg, consumer), { concurrency: "unbounded" }))
      libraries.forEach((pkg, i) => {
        const files = contents[i] ?? []
        expect(files.filter((file) => unwantedInTarball(file) !== undefined), pkg.dir).toEqual([])
        expect(files, pkg.dir).toEqual(expect.arrayContaining(["package.json", "dist/index.js", "dist/index.d.ts"]))
        expect(fs.existsSync(path.join(consumer, pkg.tarball)), pkg.tarball).toBe(true)
      })

      // 3. install them together, as the README says, from the local store where it can
      fs.writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
      yield* timed("install", command("pnpm", ["add", ...install, "--prefer-offline"], { cwd: consumer }))
      const installed = readJson<PackageJson>(path.join(consumer, "package.json"))
      expect(Object.keys(installed.dependencies ?? {}).sort()).toEqual(
        [...libraries.map((pkg) => pkg.manifest.name), "@effect/platform", "@effect/platform-node", "effect"].sort()
      )
      for (const pkg of libraries) {
        const where = path.join(consumer, "node_modules", pkg.manifest.name)
        const manifest = fs.readFileSync(path.join(where, "package.json"), "utf8")
        expect(manifest, pkg.dir).not.toMatch(/workspace:|@mirrord-effect\/source/)
        // sibling packages are peers: one copy of each (one ProtocolVersion tag, one Schema class)
        for (const peer of Object.keys(readJson<PackageJson>(path.join(where, "package.json")).peerDependencies ?? {})) {
          expect(fs.realpathSync(path.join(fs.realpathSync(where), "../..", peer)), `${pkg.manifest.name} → ${peer}`)
            .toBe(fs.realpathSync(path.join(consumer, "node_modules", peer)))
        }
      }

      // 4. strict tsc over every public module and the README's examples
      fs.writeFileSync(path.join(consumer, "publicModules.ts"), publicModulesFile(consumer, libraries.map((pkg) => pkg.manifest.name)))
      const examples = path.join(repositoryRoot, "tests/examples")
      fs.mkdirSync(path.join(consumer, "tests/examples"), { recursive: true })
      for (const file of fs.readdirSync(examples).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
        fs.copyFileSync(path.join(examples, file), path.join(consumer, "tests/examples", file))
      }
      fs.mkdirSync(path.join(consumer, "tests/consumer/fixtures"), { recursive: true })
      for (const file of ["runEmbedding.ts", "clientExample.ts"]) {
        fs.copyFileSync(path.join(__dirname, "fixtures", file), path.join(consumer, "tests/consumer/fixtures", file))
      }
      fs.writeFileSync(path.join(consumer, "tsconfig.json"), JSON.stringify(consumerTsconfig, null, 2))
      fs.writeFileSync(path.join(consumer, "ws.d.ts"), untypedWs)
      const tsc = path.join(repositoryRoot, "node_modules/typescript/bin/tsc")
      yield* timed("tsc", command(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: consumer }))

      // 5. the embedding example against agent-sim, both from the tarballs
      const run = yield* timed(
        "run",
        command(process.execPath, ["out/tests/consumer/fixtures/runEmbedding.js"], { cwd: consumer })
      )
      expect(run.stdout).toContain("codec example: ok")
      expect(run.stdout).toContain("embedding example, agent 1.29.0: ok")
      expect(run.stdout).toContain("embedding example, agent 1.7.0: ok (TcpSteal/HttpResponseFramed)")
      expect(run.stdout).toContain("client example, agent 1.29.0: ok")
      expect(run.stdout).toContain("client example, agent 1.7.0: ok")
      console.log(`consumer test: ${timings.join(", ")}`)
    }), 600_000) // ~40 s on an idle 2-core machine, 2.5 min under heavy load
})
