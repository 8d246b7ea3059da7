/**
 * A deterministic body of any length (the app sends it; the test computes the same checksum).
 */
import { createHash } from "node:crypto"

const block = Buffer.from(Array.from({ length: 251 }, (_, i) => (i * 7 + 3) & 0xff))

/** `length` bytes of a 251-byte repeating pattern (prime, so chunk boundaries never align). */
export const patternBytes = (length: number): Buffer => {
  const out = Buffer.allocUnsafe(length)
  for (let offset = 0; offset < length; offset += block.length) block.copy(out, offset, 0, Math.min(block.length, length - offset))
  return out
}

export const patternSha256 = (length: number): string => createHash("sha256").update(patternBytes(length)).digest("hex")
