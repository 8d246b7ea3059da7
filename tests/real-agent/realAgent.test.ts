/**
 * Real mirrord agents as test peers (issue 11 part 1): each agent binary in ../shared/agents runs
 * as the "pod" in network namespaces of our own, our proxy (+ the local app) runs as the
 * "developer" in another, and curl/node are the clients in a third. Versions run one after the
 * other; each test group gets a fresh network and agent. Synchronisation is on printed events.
 */
import { createHash } from "node:crypto"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { patternSha256 } from "./support/pattern.js"
import { agentBinaries, destroyAll, flushPodRules, podRules, sweepLeftovers, unavailableReason } from "./support/pod.js"
import type { Developer, Group } from "./support/session.js"
import { curl, inClient, startAgent, startDeveloper, startGroup } from "./support/session.js"

const agentsDir = fileURLToPath(new URL("../../../shared/agents", import.meta.url))
const skipReason = unavailableReason(agentsDir)
// MIRRORD_REAL_AGENTS=1.29.0,1.7.0 picks protocol versions (default: every agent present)
const only = process.env["MIRRORD_REAL_AGENTS"]?.split(",").map((v) => v.trim())
const agents = skipReason === undefined
  ? agentBinaries(agentsDir).filter((a) => only === undefined || only.includes(a.protocol))
  : []

if (skipReason !== undefined) {
  console.warn(`real-agent suite skipped: ${skipReason}`)
} else {
  const swept = sweepLeftovers()
  if (swept.length > 0) console.warn(`real-agent suite: removed leftover namespaces ${swept.join(", ")}`)
  console.warn(`real-agent suite: agent versions ${agents.map((a) => `${a.release} (protocol ${a.protocol})`).join(", ")}`)
}

const atLeast = (version: string, min: string) => {
  const a = version.split(".").map(Number)
  const b = min.split(".").map(Number)
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! > b[i]!
  return true
}

const sentVariants = (developer: Developer) =>
  developer.log.events().filter((e) => e.ev === "sent").map((e) => String(e.variants))
const responseVariants = (developer: Developer) =>
  sentVariants(developer).filter((v) => /HttpResponse/.test(v)).map((v) => v.split(" > ")[1]!)
const closedEvents = (developer: Developer) => developer.log.events().filter((e) => e.ev === "agent-closed")

const GROUP_TIMEOUT = 120_000

type SessionConfig = NonNullable<Parameters<typeof startDeveloper>[1]>

/**
 * Runs `body` with a fresh proxy session; agents without the idle TTL exit when their client
 * leaves, so a new agent is started when the last one has exited.
 */
const runSession = async (
  group: Group,
  agent: Parameters<typeof startAgent>[1],
  config: SessionConfig,
  body: (developer: Developer) => Promise<void>
) => {
  if (group.agent.exited()) group.agent = await startAgent(group.network, agent)
  group.developer ??= await startDeveloper(group.network)
  const developer = group.developer
  await developer.connect(config)
  try {
    await body(developer)
  } finally {
    await developer.disconnect()
    // an old agent exits when its client leaves: wait for it, so the next session starts a new one
    if (!group.agent.exited() && !atLeast(agent.protocol, "1.19.4")) {
      await group.agent.log.waitFor((l) => l.startsWith("<exited"), "agent exit", { timeoutMs: 20_000 }).catch(() => undefined)
    }
  }
}

afterAll(destroyAll, 60_000)

describe.skipIf(skipReason !== undefined).sequential("real agents", () => {
  for (const agent of agents) {
    const chunked = atLeast(agent.protocol, "1.8.1")
    const httpSteal = atLeast(agent.protocol, "1.19.4")
    // debug builds are slow on bodies: small bodies there
    const large = agent.debug ? 192 * 1024 : 8 * 1024 * 1024
    const upload = agent.debug ? 64 * 1024 : 2 * 1024 * 1024

    describe.sequential(`agent ${agent.release} (protocol ${agent.protocol})`, () => {
      describe.sequential("steal filtered by path ^/app/", () => {
        let group: Group
        let developer: Developer
        beforeAll(async () => {
          group = await startGroup(agent)
          developer = await startDeveloper(group.network, { remotePort: 80, mode: "steal", filter: { _tag: "Path", value: "^/app/" } })
        }, GROUP_TIMEOUT)
        afterAll(async () => {
          await developer?.stop()
          await group?.close()
        }, 60_000)

        it("negotiates the agent's version", async () => {
          expect(developer.log.events().find((e) => e.ev === "negotiated")?.version).toBe(agent.protocol)
          expect(developer.log.events().some((e) => e.ev === "subscribed")).toBe(true)
        })

        it("steals matching paths; others reach the pod", async () => {
          const stolen = await curl(group.network, "/app/small")
          expect(stolen.stdout).toBe("app GET /app/small\n")
          const passed = await curl(group.network, "/other")
          expect(passed.stdout).toBe("pod GET /other\n")
        })

        it("a large response arrives whole (checksum)", async () => {
          const r = await curl(group.network, `/app/large?bytes=${large}`)
          expect(r.code).toBe(0)
          expect(r.stdout.length).toBe(large)
          expect(createHash("sha256").update(Buffer.from(r.stdout, "latin1")).digest("hex")).toBe(patternSha256(large))
        })

        it(`streams SSE (${chunked ? "first event before the end" : "Framed: whole response at the end"})`, async () => {
          const started = Date.now()
          const pending = curl(group.network, "/app/sse?id=sse1", ["-N", "-w", "\\n%{time_starttransfer}"])
          await developer.log.waitForEvent({ ev: "app-held", id: "sse1" })
          if (chunked) {
            // the first event must reach the client while the app still holds the stream open:
            // the client's output is only readable at its end, so the head's arrival (curl's
            // time_starttransfer) is compared with the moment the app was released
            await developer.log.waitFor((l) => l.includes("HttpResponseChunked > ChunkedResponse::Start"), "ChunkedResponse::Start sent")
          }
          const releasedAt = Date.now()
          developer.send("release sse1")
          const r = await pending
          expect(r.stdout).toMatch(/^data: event 1\n\ndata: event 2\n\ndata: event 3\n\n/)
          const firstByteMs = Number(r.stdout.split("\n").at(-1)) * 1000
          if (chunked) expect(started + firstByteMs).toBeLessThan(releasedAt + 50)
          else expect(responseVariants(developer).every((v) => !v.includes("Chunked"))).toBe(true)
        })

        it(`request bodies arrive whole, with Expect: 100-continue too (${upload} bytes)`, async () => {
          const body = Buffer.alloc(upload, 0x5a)
          const sha = createHash("sha256").update(body).digest("hex")
          const plain = await inClient(group.network, ["curl", "-sS", "--max-time", "45", "--data-binary", "@-", "-H", "Expect:", `http://10.200.1.1/app/echo`], body.toString("latin1"))
          expect(JSON.parse(plain.stdout)).toEqual({ length: upload, sha256: sha })
          const expecting = await inClient(group.network, ["curl", "-sS", "--max-time", "45", "--data-binary", "@-", "-H", "Expect: 100-continue", "-w", "\\n%{http_code}", `http://10.200.1.1/app/echo`], body.toString("latin1"))
          const [json, status] = expecting.stdout.split("\n")
          expect(status).toBe("200")
          expect(JSON.parse(json!)).toEqual({ length: upload, sha256: sha })
        })

        it("keeps connections alive and serves concurrent requests", async () => {
          const keep = await curl(group.network, "/app/k2", ["-w", "%{num_connects}\\n", "http://10.200.1.1/app/k1"])
          expect(keep.stdout).toBe("app GET /app/k1\n1\napp GET /app/k2\n0\n")
          const urls = Array.from({ length: 20 }, (_, i) => `http://10.200.1.1/app/c${i}`)
          const parallel = await inClient(group.network, ["curl", "-sS", "--max-time", "45", "--parallel", "--parallel-max", "20", ...urls.flatMap((u) => ["-w", "\\n", u])])
          const answers = parallel.stdout.split("\n").filter((l) => l !== "").sort()
          expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `app GET /app/c${i}`).sort())
        })

        it("the app dying mid-body with a content-length: the client sees an incomplete transfer or a 502", async () => {
          const pending = curl(group.network, "/app/hold?id=dieL&length=1", ["-w", "\\n%{http_code}"])
          await developer.log.waitForEvent({ ev: "app-held", id: "dieL" })
          if (chunked) await developer.log.waitFor((l) => l.includes("ChunkedResponse::Start"), "Start sent")
          developer.send("die dieL")
          const r = await pending
          if (chunked) {
            // the head went out with its content-length: hyper aborts on the short body
            expect(r.code, JSON.stringify(r)).toBe(18)
            expect(r.stdout.startsWith("part one\n")).toBe(true)
          } else {
            // Framed: nothing went out before the failure, so the proxy answers 502
            expect(r.code, JSON.stringify(r)).toBe(0)
            expect(r.stdout.endsWith("\n502"), JSON.stringify(r)).toBe(true)
          }
        })

        it(`the app dying mid-body, chunked: ${chunked ? "the agent ends the body cleanly (agent limitation, README)" : "never a whole-looking 200"}`, async () => {
          const pending = curl(group.network, "/app/hold?id=dieC", ["-w", "\\n%{http_code}"])
          await developer.log.waitForEvent({ ev: "app-held", id: "dieC" })
          const from = developer.log.lines.length
          if (chunked) await developer.log.waitFor((l) => l.includes("ChunkedResponse::Start"), "Start sent")
          developer.send("die dieC")
          const r = await pending
          if (chunked) {
            await developer.log.waitFor((l) => l.includes("ChunkedResponse::Error"), "ChunkedResponse::Error sent", { from })
            // what the agent does with the library's sequence: a clean end (recorded, not wanted)
            expect(r.code).toBe(0)
            expect(r.stdout).toBe("part one\n\n200")
          } else {
            // Framed: nothing went out before the failure, so the proxy answers 502
            expect(r.stdout.endsWith("\n502"), JSON.stringify(r)).toBe(true)
          }
        })

        if (!chunked) {
          it("only HttpResponseFramed/HttpResponse reached the agent, and the connection stayed up", () => {
            const variants = responseVariants(developer)
            expect(variants.length).toBeGreaterThan(0)
            for (const v of variants) expect(["LayerTcpSteal::HttpResponseFramed", "LayerTcpSteal::HttpResponse"]).toContain(v)
            expect(closedEvents(developer)).toEqual([])
          })
        }

        it("unsubscribing gives the port back to the pod", async () => {
          developer.send("unsubscribe")
          await developer.log.waitForEvent({ ev: "unsubscribed" })
          // the agent removes its redirect after the message: wait for the pod to answer
          let r = await curl(group.network, "/app/after")
          for (let i = 0; i < 50 && r.stdout !== "pod GET /app/after\n"; i++) r = await curl(group.network, "/app/after")
          expect(r.stdout).toBe("pod GET /app/after\n")
        })
      })

      describe.sequential("steal all; proxy stop; agent restart", () => {
        let group: Group
        beforeAll(async () => {
          group = await startGroup(agent)
        }, GROUP_TIMEOUT)
        afterAll(async () => group?.close(), 60_000)

        it(`steals every request (${httpSteal ? "as HTTP" : "before 1.19.4: HTTP passes as raw TCP"})`, async () => {
          await runSession(group, agent, { remotePort: 80, mode: "steal" }, async (developer) => {
            const r = await curl(group.network, "/any")
            expect(r.stdout).toBe("app GET /any\n")
            const received = developer.log.events().filter((e) => e.ev === "received").map((e) => String(e.variant))
            if (httpSteal) expect(received.some((v) => /TcpSteal::HttpRequest/.test(v))).toBe(true)
            else {
              expect(received.some((v) => /TcpSteal::NewConnection/.test(v))).toBe(true)
              expect(received.some((v) => /TcpSteal::HttpRequest/.test(v))).toBe(false)
            }
          })
        })

        it("the proxy stopping with a request in flight (recorded per agent era)", async () => {
          await runSession(group, agent, { remotePort: 80, mode: "steal", filter: { _tag: "Path", value: "^/" } }, async (developer) => {
            // agents before 1.19.4 leave the client waiting: curl's own bound ends the wait there
            const pending = curl(group.network, "/hold?id=stop1", ["-w", "\\n%{http_code}", ...(httpSteal ? [] : ["--max-time", "8"])])
            await developer.log.waitForEvent({ ev: "app-held", id: "stop1" })
            const from = developer.log.lines.length
            if (chunked) await developer.log.waitFor((l) => l.includes("ChunkedResponse::Start"), "Start sent")
            developer.send("stop")
            await developer.log.waitForEvent({ ev: "stopped" })
            const r = await pending
            console.warn(`real-agent ${agent.release}: proxy stopped mid-response → curl exit ${r.code}, ${JSON.stringify(r.stdout)}`)
            if (chunked) {
              // 1.8.1 and 1.29: the head and first part went out; the proxy ends the response with
              // ChunkedResponse::Error (ours: always) and the agent ends the body cleanly (a
              // truncated response that looks whole: no message sequence makes these agents cut
              // the connection). The debug-built 1.8.1 agent sometimes loses the Error as our
              // connection closes right behind it; its client then waits (curl's bound, exit 28).
              await developer.log.waitFor((l) => l.includes("ChunkedResponse::Error"), "ChunkedResponse::Error sent", { from })
              expect(r.stdout.startsWith("part one\n"), JSON.stringify(r)).toBe(true)
              if (httpSteal || r.code === 0) {
                expect(r.code, JSON.stringify(r)).toBe(0)
                expect(r.stdout).toBe("part one\n\n200")
              } else {
                expect(r.code, JSON.stringify(r)).toBe(28)
              }
            } else {
              // 1.7.0 and 1.8.0 (Framed): nothing of the response had gone out, so the proxy
              // answers a 502 before it stops instead of leaving the client waiting (ours: always)
              await developer.log.waitFor((l) => /LayerTcpSteal::HttpResponse(?!Framed|Chunked)/.test(l), "the 502 sent", { from })
              // the agent's part: usually the client gets the 502; the debug-built 1.8.0 agent
              // sometimes drops it as our connection closes right behind it (then curl's bound ends
              // the wait) — recorded above, not asserted
              if (r.code === 0) {
                expect(r.stdout, JSON.stringify(r)).toMatch(/the proxy stopped before the local app answered\n\n502$/)
              } else {
                expect(r.code, JSON.stringify(r)).toBe(28)
              }
            }
          })
        })

        it("the agent restarted: a new proxy session steals again", async () => {
          // (reconnect in one proxy — AgentSession.layer / IncomingProxy.layerSession — has not
          // landed: the honest test restarts the agent and runs our proxy again)
          await runSession(group, agent, { remotePort: 80, mode: "steal", filter: { _tag: "Path", value: "^/" } }, async (developer) => {
            expect((await curl(group.network, "/before")).stdout).toBe("app GET /before\n")
            await group.agent.stop()
            await developer.log.waitForEvent({ ev: "agent-closed" })
          })
          // an agent that could not clean up leaves its rules, and a new one refuses dirty iptables
          // ("Detected dirty iptables"); a restarted pod starts without them
          const leftover = podRules(group.network)
          if (leftover.length > 0) {
            console.warn(`real-agent ${agent.release}: stopped agent left ${leftover.length} rules; flushed`)
            flushPodRules(group.network)
          }
          group.agent = await startAgent(group.network, agent)
          await runSession(group, agent, { remotePort: 80, mode: "steal", filter: { _tag: "Path", value: "^/" } }, async () => {
            expect((await curl(group.network, "/again")).stdout).toBe("app GET /again\n")
          })
        })
        it("the agent restarted: one reconnecting proxy (AgentSession.layer + IncomingProxy.layerSession) steals again", async () => {
          await runSession(group, agent, { remotePort: 80, mode: "steal", filter: { _tag: "Path", value: "^/" }, reconnect: true }, async (developer) => {
            await developer.log.waitForEvent({ ev: "session", status: "Connected" })
            expect((await curl(group.network, "/before-restart")).stdout).toBe("app GET /before-restart\n")
            await group.agent.stop()
            await developer.log.waitForEvent({ ev: "session", status: "Reconnecting" })
            if (podRules(group.network).length > 0) flushPodRules(group.network)
            group.agent = await startAgent(group.network, agent)
            await developer.log.waitForEvent({ ev: "resubscribed" })
            expect((await curl(group.network, "/after-restart")).stdout).toBe("app GET /after-restart\n")
            const connected = developer.log.events().filter((e) => e.ev === "session" && e.status === "Connected")
            expect(connected.map((e) => e.version)).toEqual([agent.protocol, agent.protocol])
          })
        })
      })

      describe.sequential("filters, mirror, raw TCP", () => {
        let group: Group
        beforeAll(async () => {
          group = await startGroup(agent)
        }, GROUP_TIMEOUT)
        afterAll(async () => group?.close(), 60_000)

        const session = (config: SessionConfig, body: (developer: Developer) => Promise<void>) => runSession(group, agent, config, body)

        it("header filter: matching requests are stolen, others reach the pod", async () => {
          await session({ remotePort: 80, mode: "steal", filter: { _tag: "Header", value: "^x-steal: yes$" } }, async () => {
            expect((await curl(group.network, "/h", ["-H", "x-steal: yes"])).stdout).toBe("app GET /h\n")
            expect((await curl(group.network, "/h", ["-H", "x-steal: no"])).stdout).toBe("pod GET /h\n")
          })
        })

        it.skipIf(!atLeast(agent.protocol, "1.20.0"))("method filter: POST stolen, GET to the pod", async () => {
          await session({ remotePort: 80, mode: "steal", filter: { _tag: "Method", value: { _tag: "Post" } } }, async () => {
            expect((await curl(group.network, "/m", ["-X", "POST"])).stdout).toBe("app POST /m\n")
            expect((await curl(group.network, "/m")).stdout).toBe("pod GET /m\n")
          })
        })

        it("mirror: the pod answers, the app sees the request too", async () => {
          await session({ remotePort: 80, mode: "mirror" }, async (developer) => {
            const r = await curl(group.network, "/mirrored")
            expect(r.stdout).toBe("pod GET /mirrored\n")
            await developer.log.waitForEvent({ ev: "app-request", path: "/mirrored" })
          })
        })

        it("raw TCP: bytes stolen to a local echo server and back", async () => {
          await session({ remotePort: 7000, mode: "steal", target: "echo" }, async () => {
            // every byte value, twice, so nothing HTTP-like and nothing text-only survives by luck
            const script = `const b=Buffer.alloc(512,0).map((_,i)=>i&255);const s=require("net").connect(7000,"10.200.1.1",()=>s.write(b));let got=Buffer.alloc(0);s.on("data",d=>{got=Buffer.concat([got,d]);if(got.length>=512){console.log(got.equals(b)?"same":"differs "+got.toString("hex"));s.end()}})`
            const r = await inClient(group.network, [process.execPath, "-e", script])
            expect(r.stdout).toBe("same\n")
          })
        })

        if (agent.protocol === "1.7.0") {
          it("counter-proof: an always-Chunked proxy gets the 1.7.0 agent to drop the connection", async () => {
            await session({ remotePort: 80, mode: "steal", filter: { _tag: "Path", value: "^/" }, unsafeResponseModeOverride: "Chunked" }, async (developer) => {
              // a streamed response (a complete one is sent Framed even in Chunked mode)
              // the agent leaves the client waiting after it dropped us: curl's bound ends that
              const pending = curl(group.network, "/sse?id=cp", ["-w", "\\n%{http_code}", "--max-time", "8"])
              await developer.log.waitForEvent({ ev: "app-held", id: "cp" })
              const closed = await developer.log.waitForEvent({ ev: "agent-closed" })
              expect(sentVariants(developer).some((v) => v.includes("HttpResponseChunked"))).toBe(true)
              console.warn(`real-agent ${agent.release}: always-Chunked → ${JSON.stringify(closed)}`)
              developer.send("release cp")
              const r = await pending
              expect(r.stdout.startsWith("data: event 1")).toBe(false)
            })
          })
        }

        if (agent.protocol === "1.29.0" || agent.protocol === "1.8.1") {
          it("failure sequences after a Chunked head: what the agent does with each (recorded)", async () => {
            const results: Record<string, string> = {}
            await session({ remotePort: 80, mode: "steal", filter: { _tag: "Path", value: "^/" } }, async (developer) => {
              for (const name of ["error", "error+unsubscribe", "unsubscribe", "unsubscribe+error", "trailers+error", "library"]) {
                developer.send(`sequence ${name}`)
                await developer.log.waitForEvent({ ev: "sequence", name })
                const id = `seq-${name.replace(/\+/g, "-")}`
                // a second request on the same (kept-alive) client connection shows what the
                // sequence did to the connection's state at the agent
                const pending = curl(group.network, `/next-${id}`, ["-w", "\\n%{http_code} %{num_connects}\\n", `http://10.200.1.1/hold?id=${id}`])
                await developer.log.waitForEvent({ ev: "app-held", id })
                await developer.log.waitFor((l) => l.includes("ChunkedResponse::Start"), "Start sent", { from: developer.log.lines.length - 5 })
                developer.send(`die ${id}`)
                const r = await pending
                results[name] = `curl exit ${r.code}: ${JSON.stringify(r.stdout)}`
                // whatever the sequence, the client saw the first body end as if whole
                expect(r.stdout.startsWith("part one\n\n200 1\n"), r.stdout).toBe(true)
              }
            })
            console.warn(`real-agent ${agent.release}: failure sequences → ${JSON.stringify(results)}`)
            expect(Object.keys(results).length).toBe(6)
            // the library's sequence (cutResponse) keeps the client's connection stolen: the next
            // request on it still reaches the app (with ConnectionUnsubscribe, a 1.8.x agent
            // passes it to the pod)
            expect(results["library"]).toContain(`app GET /next-seq-library`)
          })
        }
      })
    })
  }
})

