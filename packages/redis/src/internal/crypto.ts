import * as Redacted from "effect/Redacted"
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto"

/** A 32-byte AES-256-GCM key, from base64 (standard or URL-safe) or 64 hex digits; `undefined` if invalid. */
export const decodeKey = (key: Redacted.Redacted<string>): Buffer | undefined => {
  const text = Redacted.value(key).trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex")
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64")
    return bytes.length === 32 ? bytes : undefined
  }
  return undefined
}

/** `iv.ciphertext.tag` in base64url; the Redis key is the additional authenticated data. */
export const encrypt = (key: Buffer, plaintext: string, aad: string): string => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", key, iv)
  cipher.setAAD(Buffer.from(aad, "utf8"))
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
  return [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString("base64url")).join(".")
}

/** The plaintext, or `undefined` when the data was written with another key, for another key name, or altered. */
export const decrypt = (key: Buffer, sealed: string, aad: string): string | undefined => {
  const parts = sealed.split(".")
  if (parts.length !== 3) return undefined
  try {
    const [iv, ciphertext, tag] = parts.map((part) => Buffer.from(part, "base64url")) as [Buffer, Buffer, Buffer]
    if (iv.length !== 12 || tag.length !== 16) return undefined
    const decipher = createDecipheriv("aes-256-gcm", key, iv)
    decipher.setAAD(Buffer.from(aad, "utf8"))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8")
  } catch {
    return undefined
  }
}

/**
 * A fingerprint of a token value, for compare-and-delete in Redis without sending or comparing the value
 * there: HMAC-SHA-256 under the encryption key when there is one, SHA-256 otherwise; 128 bits, hex.
 */
export const fingerprint = (key: Buffer | undefined, value: string): string =>
  (key === undefined ? createHash("sha256").update(value) : createHmac("sha256", key).update(value))
    .digest("hex")
    .slice(0, 32)

/** A random fencing token for the refresh lock (from the OS, not Effect's `Random`: a seeded `Random` would
 * give every replica the same token). */
export const fence = (): string => randomBytes(16).toString("hex")
