/**
 * The workspace's packages as a consumer sees them: which are libraries, what their tarballs are
 * called, and what `pnpm pack` puts in them.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { command, type CommandFailed } from "./process.js"

export const repositoryRoot = path.resolve(__dirname, "../../..")

export interface PackageJson {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly bin?: Record<string, string>
  readonly files?: ReadonlyArray<string>
  readonly exports?: Record<string, Record<string, string> | null>
  readonly publishConfig?: { readonly exports?: Record<string, Record<string, string> | null> }
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
}

export interface WorkspacePackage {
  /** e.g. `packages/protocol` */
  readonly dir: string
  readonly manifest: PackageJson
  /** a library is imported by users; a package with a `bin` is an application */
  readonly isLibrary: boolean
  /** what `pnpm pack` names its tarball, e.g. `mirrord-effect-protocol-0.1.0.tgz` */
  readonly tarball: string
}

export const readJson = <A>(file: string): A => JSON.parse(fs.readFileSync(file, "utf8")) as A

/** Every package under packages/, new ones included. */
export const workspacePackages = (): ReadonlyArray<WorkspacePackage> =>
  fs.readdirSync(path.join(repositoryRoot, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(repositoryRoot, "packages", entry.name, "package.json")))
    .map((entry) => {
      const dir = path.join("packages", entry.name)
      const manifest = readJson<PackageJson>(path.join(repositoryRoot, dir, "package.json"))
      return {
        dir,
        manifest,
        isLibrary: manifest.bin === undefined,
        tarball: `${manifest.name.replace(/^@/, "").replace("/", "-")}-${manifest.version}.tgz`
      }
    })
    .sort((a, b) => a.dir.localeCompare(b.dir))

export const isInternal = (dependency: string): boolean => dependency.startsWith("@mirrord-effect/")

/** Packs one package into `destination`; returns the paths inside its tarball. */
export const pack = (pkg: WorkspacePackage, destination: string): Effect.Effect<ReadonlyArray<string>, CommandFailed> =>
  command("pnpm", ["pack", "--json", "--pack-destination", destination], {
    cwd: path.join(repositoryRoot, pkg.dir)
  }).pipe(Effect.map(({ stdout }) => {
    const details = JSON.parse(stdout.slice(stdout.indexOf("{"))) as { files: ReadonlyArray<{ path: string }> }
    return details.files.map((file) => file.path).sort()
  }))

/** Why a path must not be in a tarball, or undefined when it belongs there. */
export const unwantedInTarball = (file: string): string | undefined => {
  if (file === "package.json" || file === "README.md") return undefined
  if (!file.startsWith("dist/")) return "only dist/, README.md and package.json are published"
  if (file.endsWith(".tsbuildinfo")) return "build state"
  if (file.endsWith(".d.ts.map")) return "a declaration map points into src/, which is not published"
  if (/\.(js|js\.map|d\.ts)$/.test(file)) return undefined
  return "not a build output"
}
