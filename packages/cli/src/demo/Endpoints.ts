/**
 * The demo's endpoints: how each one is driven through a simulated agent (a real HTTP client
 * through the simulator's HTTP front, or `AgentSim.request` for the upgrade the front does not
 * proxy) and how its response is judged against what the sample app served.
 *
 * @since 0.1.0
 */
import type { AgentSim } from "@mirrord-effect/agent-sim/AgentSim"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as HttpExchange from "./HttpExchange.js"
import * as Outcome from "./Outcome.js"
import type { Measured } from "./Outcome.js"
import { ECHO_PROTOCOL, paths, type SampleApp, sha256 } from "./SampleApp.js"

/**
 * Where a driver sends its traffic.
 *
 * @since 0.1.0
 * @category models
 */
export interface DriveContext {
  readonly app: SampleApp
  readonly sim: AgentSim
  /** the simulator's HTTP front for `remotePort` */
  readonly front: { readonly host: string; readonly port: number }
  /** the stolen remote port */
  readonly remotePort: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Endpoint {
  readonly name: string
  /** Why an agent of this version cannot deliver this traffic by design, if it cannot. */
  readonly skipFor: (agent: Version.SemVer) => string | undefined
  readonly drive: (ctx: DriveContext) => Effect.Effect<Measured>
}

const never = () => undefined

const get = (ctx: DriveContext, path: string, headers: Record<string, string> = {}) =>
  HttpExchange.send({ host: ctx.front.host, port: ctx.front.port, method: "GET", path, headers })

/** A failed exchange, or a status other than 200, is a failure; then `check` the body. */
const judgeExchange = (
  result: HttpExchange.HttpExchangeResult,
  check: (result: HttpExchange.HttpExchangeResult, responseVariant: string | undefined) => Outcome.Outcome
): Measured => ({
  firstByteMs: result.firstByteMs,
  totalMs: result.totalMs,
  bytes: result.body.length,
  judge: (variant) =>
    result.failure !== undefined
      ? Outcome.fail(result.failure)
      : result.status !== 200
      ? Outcome.fail(`status ${result.status}`)
      : check(result, variant)
})

const sameBytes = (got: Uint8Array, expected: Uint8Array, what: string): Outcome.Outcome =>
  got.length === expected.length && sha256(got) === sha256(expected)
    ? Outcome.ok()
    : Outcome.fail(`${what}: got ${got.length} bytes (sha256 ${sha256(got).slice(0, 12)}), served ${expected.length} (sha256 ${
      sha256(expected).slice(0, 12)
    })`)

const json: Endpoint = {
  name: "GET /json",
  skipFor: never,
  drive: (ctx) =>
    Effect.map(get(ctx, paths.json), (r) => judgeExchange(r, (r) => sameBytes(r.body, ctx.app.json, "body")))
}

const download: Endpoint = {
  name: "GET /download",
  skipFor: never,
  drive: (ctx) =>
    Effect.map(get(ctx, paths.download), (r) => judgeExchange(r, (r) => sameBytes(r.body, ctx.app.download, "body")))
}

const events: Endpoint = {
  name: "GET /events (SSE)",
  skipFor: never,
  drive: (ctx) =>
    Effect.map(
      get(ctx, paths.events, { accept: "text/event-stream" }),
      (r) => judgeExchange(r, (r) => sameBytes(r.body, ctx.app.events, "events"))
    )
}

const UPLOAD_CHUNKS = 16
const UPLOAD_CHUNK_BYTES = 16 * 1024

const upload: Endpoint = {
  name: "POST /upload (chunked)",
  skipFor: never,
  drive: (ctx) => {
    const chunks = Array.from({ length: UPLOAD_CHUNKS }, (_, i) => new Uint8Array(UPLOAD_CHUNK_BYTES).fill(i + 1))
    const sent = Buffer.concat(chunks)
    return Effect.map(
      HttpExchange.send({
        host: ctx.front.host,
        port: ctx.front.port,
        method: "POST",
        path: paths.upload,
        headers: { "content-type": "application/octet-stream" },
        bodyChunks: chunks
      }),
      (r) => judgeExchange(r, (r) => sameBytes(r.body, sent, "echo"))
    )
  }
}

const trailers: Endpoint = {
  name: "GET /trailers",
  skipFor: never,
  drive: (ctx) =>
    Effect.map(get(ctx, paths.trailers, { te: "trailers" }), (r) =>
      judgeExchange(r, (r, variant) => {
        const body = sameBytes(r.body, ctx.app.trailered.body, "body")
        if (body._tag !== "Ok") return body
        const trailer = r.trailers["x-body-sha256"]
        if (trailer === ctx.app.trailered.sha256) return Outcome.ok("trailer intact")
        // the legacy response has no place for trailers: dropping them is the protocol's limit
        if (trailer === undefined && variant === "HttpResponse") return Outcome.ok("trailers dropped: HttpResponse has none")
        return Outcome.fail(trailer === undefined ? "trailer missing" : `trailer changed: ${trailer}`)
      }))
}

const dies: Endpoint = {
  name: "GET /dies (mid-body)",
  skipFor: never,
  drive: (ctx) =>
    Effect.map(get(ctx, paths.dies), (r): Measured => ({
      firstByteMs: r.firstByteMs,
      totalMs: r.totalMs,
      bytes: r.body.length,
      // the app announced more than it wrote, then cut the connection: the client must not
      // see a complete response
      judge: () =>
        r.status === undefined
          ? Outcome.expectedError(r.failure ?? "no response")
          : r.status >= 500
          ? Outcome.expectedError(`${r.status} from the proxy`)
          : r.failure !== undefined
          ? Outcome.expectedError(`truncated after ${r.body.length} of ${ctx.app.dies.announced} bytes`)
          : Outcome.fail(`a complete ${r.status} response of ${r.body.length} bytes`)
    }))
}

const UPGRADE_PAYLOAD_BYTES = 64 * 1024

/** The simulator's HTTP front does not proxy 101: the upgrade goes through `AgentSim.request`. */
const upgrade: Endpoint = {
  name: "GET /upgrade (101 echo)",
  skipFor: (agent) =>
    Version.HTTP_FILTERED_UPGRADE_VERSION.matches(agent)
      ? undefined
      : `agents before ${Version.HTTP_FILTERED_UPGRADE_VERSION.range.replace(">=", "")} pass filtered upgrades through`,
  drive: (ctx) =>
    Effect.gen(function*() {
      const payload = new Uint8Array(UPGRADE_PAYLOAD_BYTES).map((_, i) => (i * 7) & 0xff)
      const started = performance.now()
      const head = yield* ctx.sim.request(ctx.remotePort, {
        method: "GET",
        uri: paths.upgrade,
        headers: [
          ["host", [new TextEncoder().encode("sample-app")]],
          ["connection", [new TextEncoder().encode("upgrade")]],
          ["upgrade", [new TextEncoder().encode(ECHO_PROTOCOL)]]
        ]
      }).pipe(Stream.runCollect, Effect.map((events) => Chunk.findFirst(events, (e) => e._tag === "Head")))
      if (head._tag === "None" || head.value._tag !== "Head") return yield* Effect.fail("no response head")
      const { status, upgrade: duplex } = head.value
      if (status !== 101 || duplex === undefined) return yield* Effect.fail(`status ${status}, not 101`)
      let firstByteMs: number | undefined
      const [, echoed] = yield* Effect.all([
        Effect.zipRight(duplex.write(payload), duplex.endWrite),
        duplex.read.pipe(
          Stream.tap(() => Effect.sync(() => { firstByteMs ??= performance.now() - started })),
          Stream.runCollect,
          Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks)))
        )
      ], { concurrency: 2 })
      yield* duplex.ended
      const totalMs = performance.now() - started
      return {
        firstByteMs,
        totalMs,
        bytes: echoed.length,
        judge: () => sameBytes(echoed, payload, "echo")
      } satisfies Measured
    }).pipe(
      Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "no complete echo within 10 s" }),
      Effect.catchAll((error) =>
        Effect.succeed<Measured>({
          firstByteMs: undefined,
          totalMs: 0,
          bytes: 0,
          judge: () => Outcome.fail(typeof error === "string" ? error : error.message)
        })
      )
    )
}

/**
 * Every endpoint, in the order the demo drives them.
 *
 * @since 0.1.0
 * @category constants
 */
export const all: ReadonlyArray<Endpoint> = [json, download, events, upload, trailers, dies, upgrade]
