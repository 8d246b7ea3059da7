/**
 * A small declarative command line: options with placeholders, descriptions and defaults, global
 * options accepted anywhere, plain help text and typed usage errors.
 *
 * Why not @effect/cli: its help describes every option by type ("A user-defined piece of text."),
 * adds built-in options (`--wizard`, `--completions`, a second `--log-level`), only accepts a parent
 * command's options before the subcommand, prints usage errors with ANSI codes through its own
 * path, and loading it costs most of the 0.3 s `--help` budget. This module depends on nothing, so
 * `--help` and usage errors never load Effect (the bins import the commands lazily).
 * @internal
 */

/** A usage error: the bin prints `<bin>: <message>` and exits with the usage code. */
export class UsageError {
  readonly _tag = "UsageError"
  constructor(
    readonly reason:
      | "MissingCommand"
      | "UnknownCommand"
      | "UnknownOption"
      | "MissingValue"
      | "InvalidValue"
      | "MissingOption"
      | "RepeatedOption"
      | "UnexpectedArgument",
    readonly message: string
  ) {}
}

export type Parsed<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: string }

export const ok = <A>(value: A): Parsed<A> => ({ ok: true, value })
export const invalid = (error: string): Parsed<never> => ({ ok: false, error })

export interface Opt<A> {
  readonly name: string
  /** shown after the name, e.g. `HOST:PORT`; absent for flags */
  readonly placeholder: string | undefined
  readonly description: string
  readonly kind: "value" | "flag" | "repeated"
  readonly parse: (text: string) => Parsed<unknown>
  /** the value when the option is absent; `required` when it must be given */
  readonly absent: { readonly _tag: "Required" } | { readonly _tag: "Default"; readonly value: A; readonly shown: string | undefined }
}

interface ValueConfig<A> {
  readonly placeholder: string
  readonly description: string
  readonly parse: (text: string) => Parsed<A>
}

/** A required option taking a value. */
export const required = <A>(name: string, config: ValueConfig<A>): Opt<A> => ({
  name,
  placeholder: config.placeholder,
  description: config.description,
  kind: "value",
  parse: config.parse,
  absent: { _tag: "Required" }
})

/** An option taking a value, with a default shown in the help (`shown`; `undefined` hides it). */
export const withDefault = <A>(name: string, config: ValueConfig<A> & { readonly default: A; readonly shown?: string }): Opt<A> => ({
  name,
  placeholder: config.placeholder,
  description: config.description,
  kind: "value",
  parse: config.parse,
  absent: { _tag: "Default", value: config.default, shown: config.shown ?? String(config.default) }
})

/** An option taking a value that may be absent (`undefined`). */
export const optional = <A>(name: string, config: ValueConfig<A>): Opt<A | undefined> => ({
  name,
  placeholder: config.placeholder,
  description: config.description,
  kind: "value",
  parse: config.parse,
  absent: { _tag: "Default", value: undefined, shown: undefined }
})

/** An option that may be given several times. */
export const repeated = <A>(name: string, config: ValueConfig<A> & { readonly shown?: string }): Opt<ReadonlyArray<A>> => ({
  name,
  placeholder: config.placeholder,
  description: config.description,
  kind: "repeated",
  parse: config.parse,
  absent: { _tag: "Default", value: [], shown: config.shown }
})

/** A flag: `--name` is true; absent, false. */
export const flag = (name: string, description: string): Opt<boolean> => ({
  name,
  placeholder: undefined,
  description,
  kind: "flag",
  parse: () => ok(true),
  absent: { _tag: "Default", value: false, shown: undefined }
})

// ---- value parsers ------------------------------------------------------------------------------

export const text = (value: string): Parsed<string> => ok(value)

export const integer = (min: number, max: number) => (value: string): Parsed<number> => {
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN
  return Number.isSafeInteger(n) && n >= min && n <= max
    ? ok(n)
    : invalid(`expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
}

export const choice = <const C extends string>(values: ReadonlyArray<C>) => (value: string): Parsed<C> =>
  (values as ReadonlyArray<string>).includes(value)
    ? ok(value as C)
    : invalid(`expected one of ${values.join(", ")}, got ${JSON.stringify(value)}`)

export interface HostPort {
  readonly host: string
  readonly port: number
}

/** `HOST:PORT` (IPv6 in brackets); `allowZero` for listen addresses (0 = any free port). */
export const hostPort = (allowZero: boolean) => (value: string): Parsed<HostPort> => {
  const m = /^(.+):(\d{1,5})$/.exec(value)
  const port = m === null ? NaN : Number(m[2])
  return m === null || !(port >= (allowZero ? 0 : 1) && port <= 65535)
    ? invalid(`expected HOST:PORT, got ${JSON.stringify(value)}`)
    : ok({ host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port })
}

// ---- commands -----------------------------------------------------------------------------------

export type Options = Readonly<Record<string, Opt<any>>>

export interface Positional {
  readonly name: string
  readonly description: string
  readonly default: string
}

export interface CommandSpec<O extends Options = Options> {
  readonly name: string
  readonly summary: string
  /** paragraphs after the summary in `--help` */
  readonly details?: ReadonlyArray<string>
  readonly options: O
  readonly positional?: Positional
}

export type ArgsOf<O extends Options> = { readonly [K in keyof O]: O[K] extends Opt<infer A> ? A : never } & {
  readonly positional: string | undefined
}

export const command = <O extends Options>(spec: CommandSpec<O>): CommandSpec<O> => spec

/** The global options, accepted before or after the command and its options. */
export interface Globals {
  readonly logLevel: LogLevelName
  readonly color: boolean | undefined
  readonly help: boolean
  readonly version: boolean
}

export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "none"] as const
export type LogLevelName = typeof LOG_LEVELS[number]

export const globalOptions: Options = {
  logLevel: withDefault("log-level", {
    placeholder: "LEVEL",
    description: `minimum level of the log lines on stderr: ${LOG_LEVELS.join(", ")}`,
    parse: choice(LOG_LEVELS),
    default: "warning"
  }),
  noColor: flag("no-color", "no ANSI escape codes (also without a terminal on stdout, or with NO_COLOR set)"),
  color: flag("color", "ANSI escape codes even when stdout is not a terminal"),
  help: flag("help", "show this help (also -h)"),
  version: flag("version", "print the version")
}

/** A program: one command (agent-sim) or several (mirrord-effect). */
export interface Program {
  readonly name: string
  readonly version: string
  readonly summary: string
  readonly commands: ReadonlyArray<CommandSpec>
  /** true when the program is its only command (no command name on the command line) */
  readonly single: boolean
}

export type Invocation =
  | { readonly _tag: "Help"; readonly globals: Globals; readonly command: CommandSpec | undefined }
  | { readonly _tag: "Version"; readonly globals: Globals }
  | { readonly _tag: "Run"; readonly globals: Globals; readonly command: CommandSpec; readonly args: Record<string, unknown> }

const seeHelp = (program: Program, command: CommandSpec | undefined) =>
  `see: ${program.name}${command === undefined || program.single ? "" : ` ${command.name}`} --help`

const findOption = (options: Options, name: string): [string, Opt<unknown>] | undefined => {
  for (const key of Object.keys(options)) if (options[key]!.name === name) return [key, options[key]!]
  return undefined
}

const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]!
}

/** A known name close to a mistyped one (a prefix, or at most two edits away). */
const nearest = (names: ReadonlyArray<string>, wanted: string): string | undefined =>
  names.find((n) => n.startsWith(wanted) || wanted.startsWith(n)) ?? names.find((n) => distance(n, wanted) <= 2)

/**
 * Parses `argv` (without node and script): global options anywhere, then the command, its
 * options (`--name value` or `--name=value`) and positional argument; `--` ends the options.
 */
export const parse = (program: Program, argv: ReadonlyArray<string>): Invocation | UsageError => {
  let logLevel: LogLevelName = "warning"
  let color: boolean | undefined
  let help = false
  let version = false
  let command: CommandSpec | undefined = program.single ? program.commands[0] : undefined
  const values: Record<string, unknown> = {}
  let positional: string | undefined
  let optionsEnded = false
  const fail = (reason: UsageError["reason"], message: string) =>
    new UsageError(reason, `${message} (${seeHelp(program, command)})`)

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (!optionsEnded && token === "--") {
      optionsEnded = true
      continue
    }
    if (!optionsEnded && token.startsWith("-") && token !== "-") {
      const eq = token.indexOf("=")
      const name = token.startsWith("--") ? token.slice(2, eq < 0 ? undefined : eq) : token.slice(1)
      const inline = eq < 0 || !token.startsWith("--") ? undefined : token.slice(eq + 1)
      const valueOf = (): string | undefined => inline ?? (i + 1 < argv.length ? argv[++i] : undefined)
      if (name === "h" || name === "help") {
        help = true
        continue
      }
      if (name === "version") {
        version = true
        continue
      }
      if (name === "no-color" || name === "color") {
        color = name === "color"
        continue
      }
      if (name === "log-level") {
        const given = valueOf()
        if (given === undefined) return fail("MissingValue", "--log-level needs a value")
        const level = choice(LOG_LEVELS)(given)
        if (!level.ok) return fail("InvalidValue", `--log-level: ${level.error}`)
        logLevel = level.value
        continue
      }
      if (command === undefined) {
        return fail("UnknownOption", `unknown option ${token} before the command`)
      }
      const found = token.startsWith("--") ? findOption(command.options, name) : undefined
      if (found === undefined) {
        const names = Object.values(command.options).map((o) => o.name)
        const guess = nearest(names, name)
        return fail("UnknownOption", `unknown option ${token}${guess === undefined ? "" : ` (did you mean --${guess}?)`}`)
      }
      const [key, opt] = found
      if (opt.kind === "flag") {
        if (inline !== undefined) return fail("InvalidValue", `--${opt.name} takes no value`)
        values[key] = true
        continue
      }
      const given = valueOf()
      if (given === undefined) return fail("MissingValue", `--${opt.name} needs a value (${opt.placeholder})`)
      const parsed = opt.parse(given)
      if (!parsed.ok) return fail("InvalidValue", `--${opt.name}: ${parsed.error}`)
      if (opt.kind === "repeated") {
        values[key] = [...((values[key] as ReadonlyArray<unknown> | undefined) ?? []), parsed.value]
      } else {
        if (key in values) return fail("RepeatedOption", `--${opt.name} given twice`)
        values[key] = parsed.value
      }
      continue
    }
    if (command === undefined) {
      const found = program.commands.find((c) => c.name === token)
      if (found === undefined) {
        const guess = nearest(program.commands.map((c) => c.name), token)
        return fail(
          "UnknownCommand",
          `unknown command ${JSON.stringify(token)}${guess === undefined ? "" : ` (did you mean ${guess}?)`}; commands: ${
            program.commands.map((c) => c.name).join(", ")
          }`
        )
      }
      command = found
      continue
    }
    if (command.positional === undefined || positional !== undefined) {
      return fail("UnexpectedArgument", `unexpected argument ${JSON.stringify(token)}`)
    }
    positional = token
  }

  const globals: Globals = { logLevel, color, help, version }
  if (help) return { _tag: "Help", globals, command }
  if (version) return { _tag: "Version", globals }
  if (command === undefined) {
    return fail("MissingCommand", `no command given; commands: ${program.commands.map((c) => c.name).join(", ")}`)
  }
  for (const [key, opt] of Object.entries(command.options)) {
    if (key in values) continue
    if (opt.absent._tag === "Required") return fail("MissingOption", `--${opt.name} ${opt.placeholder} is required`)
    values[key] = opt.absent.value
  }
  values.positional = positional ?? command.positional?.default
  return { _tag: "Run", globals, command, args: values }
}

// ---- help ---------------------------------------------------------------------------------------

export interface Style {
  readonly heading: (text: string) => string
}

export const plain: Style = { heading: (t) => t }
export const ansi: Style = { heading: (t) => `\x1b[1m${t}\x1b[0m` }

const WIDTH = 100

const wrap = (text: string, indent: number, width = WIDTH): string => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/)) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  if (line !== "") lines.push(line)
  return lines.join(`\n${" ".repeat(indent)}`)
}

const optionRows = (options: Options): Array<[string, string]> =>
  Object.values(options).map((o) => {
    const label = `--${o.name}${o.placeholder === undefined ? "" : ` ${o.placeholder}`}`
    const suffix = o.absent._tag === "Required"
      ? " (required)"
      : o.absent.shown === undefined
      ? ""
      : ` (default: ${o.absent.shown})`
    const repeat = o.kind === "repeated" ? " (repeatable)" : ""
    return [label, `${o.description}${repeat}${suffix}`]
  })

const table = (rows: ReadonlyArray<[string, string]>): string => {
  const col = Math.min(30, Math.max(...rows.map(([l]) => l.length)) + 2)
  return rows.map(([label, text]) =>
    label.length + 2 > col
      ? `  ${label}\n${" ".repeat(col + 2)}${wrap(text, col + 2)}`
      : `  ${label.padEnd(col)}${wrap(text, col + 2)}`
  ).join("\n")
}

const usageOf = (program: Program, command: CommandSpec): string => {
  const requiredOptions = Object.values(command.options)
    .filter((o) => o.absent._tag === "Required")
    .map((o) => `--${o.name} ${o.placeholder}`)
  const optional = Object.values(command.options).some((o) => o.absent._tag !== "Required") ? ["[options]"] : []
  const positional = command.positional === undefined ? [] : [`[${command.positional.name}]`]
  return [program.name, ...(program.single ? [] : [command.name]), ...requiredOptions, ...optional, ...positional].join(" ")
}

const globalsSection = (style: Style) =>
  `${style.heading("Global options")} (accepted anywhere on the command line):\n${table(optionRows(globalOptions))}`

/** The help of the program (no command) or of one command. */
export const help = (program: Program, command: CommandSpec | undefined, style: Style, exitCodes: string): string => {
  if (command === undefined || program.single) {
    const only = program.single ? program.commands[0]! : undefined
    const parts = [
      `${program.name} ${program.version} — ${program.summary}`,
      ...(only === undefined
        ? [
          `${style.heading("Usage")}: ${program.name} COMMAND [options]`,
          `${style.heading("Commands")}:\n${table(program.commands.map((c) => [c.name, c.summary]))}`,
          `Run \`${program.name} COMMAND --help\` for the options of a command.`
        ]
        : [
          ...(only.details ?? []).map((d) => wrap(d, 0)),
          `${style.heading("Usage")}: ${usageOf(program, only)}`,
          `${style.heading("Options")}:\n${table(optionRows(only.options))}`
        ]),
      globalsSection(style),
      `${style.heading("Exit codes")}:\n${exitCodes}`
    ]
    return parts.join("\n\n") + "\n"
  }
  const parts = [
    `${program.name} ${command.name} — ${command.summary}`,
    ...(command.details ?? []).map((d) => wrap(d, 0)),
    `${style.heading("Usage")}: ${usageOf(program, command)}`,
    ...(Object.keys(command.options).length === 0 ? [] : [`${style.heading("Options")}:\n${table(optionRows(command.options))}`]),
    ...(command.positional === undefined
      ? []
      : [`${style.heading("Arguments")}:\n${
        table([[command.positional.name, `${command.positional.description} (default: ${command.positional.default})`]])
      }`]),
    globalsSection(style),
    `${style.heading("Exit codes")}:\n${exitCodes}`
  ]
  return parts.join("\n\n") + "\n"
}

/** Whether to write ANSI codes to `stream`: `--color`/`--no-color`, else NO_COLOR, else a terminal. */
export const useColor = (globals: Pick<Globals, "color">, stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean =>
  globals.color ?? ((env.NO_COLOR === undefined || env.NO_COLOR === "") && stream.isTTY === true)
