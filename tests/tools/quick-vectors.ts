import * as fs from "node:fs"
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as Either from "effect/Either"
const hex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"))
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex")
let pass = 0, fail = 0, skip = 0
const fails: string[] = []
for (const f of ["variants", "random-A", "invalid", "incomplete", "noncanonical"]) {
  for (const line of fs.readFileSync(`../shared/vectors/${f}.jsonl`, "utf8").split("\n")) {
    if (!line) continue
    const v = JSON.parse(line)
    if (JSON.stringify(v).includes('"File')) { skip++; continue }
    const root = v.root as "ClientMessage" | "DaemonMessage"
    const r = Codec.decoder(root).decode(hex(v.hex))
    let ok = false, why = ""
    if (v.outcome === "invalid") { ok = r._tag === "Invalid"; why = r._tag }
    else if (v.outcome === "incomplete") { ok = r._tag === "Incomplete"; why = JSON.stringify(r).slice(0, 200) }
    else if (r._tag !== "Complete") { why = JSON.stringify(r).slice(0, 300) }
    else {
      const c = Canonical.toCanonical(root, r.message as any)
      const same = JSON.stringify(c) === JSON.stringify(v.canon)
      const back = Canonical.fromCanonical(root, v.canon)
      const reenc = Either.isRight(back) ? toHex(Codec.encode(root, back.right as any)) : "ERR " + JSON.stringify(back.left)
      const want = v.reencoded_hex ?? v.hex
      ok = same && r.bytesConsumed === v.hex.length / 2 && reenc === want
      why = `same=${same} consumed=${r.bytesConsumed} reenc=${reenc === want} ${same ? "" : JSON.stringify(c).slice(0, 300)} ${reenc === want ? "" : reenc.slice(0, 200)}`
    }
    if (ok) pass++; else { fail++; if (fails.length < 30) fails.push(`${f} ${v.id}: ${why}`) }
  }
}
console.log(fails.join("\n"))
console.log({ pass, fail, skip })
