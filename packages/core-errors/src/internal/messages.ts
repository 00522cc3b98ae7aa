import * as Duration from "effect/Duration"
import type { ApiErrorBody } from "./errorBody.js"

type Phase = "connect" | "headers" | "body" | "attempt" | "deadline"

/** The fields of every `ApiError`, seen structurally so this module does not import the classes. */
interface ErrorShape {
  readonly _tag: string
  readonly method: string
  readonly url: string
  readonly cause?: unknown
  readonly status?: number | undefined
  readonly body?: ApiErrorBody | undefined
  readonly snippet?: string | undefined
  readonly requestId?: string | undefined
  readonly retryAfter?: Duration.Duration | undefined
  readonly retryAt?: number | undefined
  readonly challenge?: string | undefined
  readonly phase?: Phase
  readonly timeout?: Duration.Duration | undefined
  readonly reason?: string
  readonly code?: string | undefined
  readonly sent?: boolean
  readonly problem?: string
  readonly location?: string | undefined
}

const STATUS_TEXT: Record<number, string> = {
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported"
}

/** 5xx statuses that say the server will not handle this request however often it is sent. */
const PERMANENT_5XX = new Set([501, 505, 506, 508, 510, 511])

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

const htmlTitle = (snippet: string): string | undefined => {
  const match = /<title[^>]*>([^<]*)<\/title>/i.exec(snippet)
  return match?.[1] !== undefined && match[1].trim() !== "" ? oneLine(match[1], 120) : undefined
}

const formatDuration = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  if (millis < 1000) return `${Math.round(millis)} ms`
  const seconds = millis / 1000
  return Number.isInteger(seconds) ? `${seconds} s` : `${seconds.toFixed(1)} s`
}

const statusLine = (status: number): string => {
  const text = STATUS_TEXT[status]
  return text === undefined ? `${status}` : `${status} ${text}`
}

const bodySummary = (e: ErrorShape): string => {
  if (e.body !== undefined) {
    const category = e.body.category === undefined ? "" : ` [${e.body.category}]`
    const details = e.body.details.length === 0
      ? ""
      : `; details: ${oneLine(safeStringify(e.body.details), 500)}`
    return ` (code ${e.body.code}${category}: ${oneLine(e.body.message, 300)}${details})`
  }
  if (e.snippet !== undefined && e.snippet.trim() !== "") {
    const title = htmlTitle(e.snippet)
    return title === undefined ? ` (body: "${oneLine(e.snippet, 200)}")` : ` (an HTML page titled "${title}")`
  }
  return ""
}

const safeStringify = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return "[unserializable]"
  }
}

const requestIdNote = (e: ErrorShape): string =>
  e.requestId === undefined ? "" : ` Request id: ${e.requestId} (quote it to the API provider).`

const causeNote = (e: ErrorShape): string => {
  const cause = e.cause
  if (cause instanceof Error) return cause.message === "" ? cause.name : cause.message
  if (typeof cause === "string") return cause
  return ""
}

const isInsufficientScope = (challenge: string | undefined): boolean =>
  challenge !== undefined && /error\s*=\s*"?insufficient_scope"?/i.test(challenge)

/** @internal */
export const retryDecision = (e: ErrorShape): "retry" | "retry-after" | "refresh-auth" | "fail" => {
  switch (e._tag) {
    case "Unauthorized":
      return isInsufficientScope(e.challenge) ? "fail" : "refresh-auth"
    case "RateLimited":
      return "retry-after"
    case "ClientError":
      return e.status === 408 ? "retry" : "fail"
    case "ServerError":
      if (e.status !== undefined && PERMANENT_5XX.has(e.status)) return "fail"
      return e.retryAfter === undefined ? "retry" : "retry-after"
    case "Timeout":
      return e.phase === "deadline" ? "fail" : "retry"
    case "NetworkError":
      return e.reason === "Transport" ? "retry" : "fail"
    default:
      return "fail"
  }
}

const phaseText: Record<Phase, string> = {
  connect: "while connecting (nothing was sent)",
  headers: "waiting for the response headers",
  body: "while reading the response body",
  attempt: "(the per-attempt timeout elapsed)",
  deadline: "(the call's overall deadline passed)"
}

/** @internal */
export const describe = (e: ErrorShape): string => {
  const where = `${e.method} ${e.url}`
  const status = e.status === undefined ? "" : statusLine(e.status)
  const body = bodySummary(e)
  const id = requestIdNote(e)
  switch (e._tag) {
    case "BadRequest":
      return `${where} failed with ${status}${body}. The request is invalid: fix it using the details of the error body. It is not retried.${id}`
    case "Unauthorized":
      return isInsufficientScope(e.challenge)
        ? `${where} failed with ${status}${body}: the access token lacks a required scope. Request that scope for the service account (a new token with the same scopes will not help). It is not retried.${id}`
        : `${where} failed with ${status}${body}: the access token was missing, expired or revoked. The client invalidates that token, fetches a new one and retries once; if this persists, check the client credentials and that the token is issued for this API.${id}`
    case "Forbidden":
      return `${where} failed with ${status}${body}: the service account is not allowed to do this. Grant the service account the role this operation needs; a new token will not help. It is not retried.${id}`
    case "NotFound":
      return `${where} failed with ${status}${body}: the resource does not exist or is not visible to this account. Check the id and the path. It is not retried.${id}`
    case "Conflict":
      return `${where} failed with ${status}${body}: the request conflicts with the resource's current state. Re-read the resource and resolve the conflict before sending it again. It is not retried.${id}`
    case "RateLimited": {
      const wait = e.retryAfter === undefined
        ? "backs off before retrying (the response gave no Retry-After)"
        : `waits the ${formatDuration(e.retryAfter)} its Retry-After asks for before sending to this API again`
      const at = e.retryAt === undefined || !Number.isFinite(e.retryAt)
        ? ""
        : ` Nothing should be sent to this API before ${new Date(e.retryAt).toISOString()}.`
      // Token reuse is the partner API's own advice, so it is given only when the API itself answered (with
      // its error body); a bare 429 from a gateway says nothing about tokens.
      const tokens = e.body === undefined ? "" : ", and reuses access tokens until they expire"
      return `${where} failed with ${status}${body}: the API's rate limit was exceeded. The client ${wait}${tokens}; frequent 429s mean this client sends faster than its quota.${at}${id}`
    }
    case "ClientError":
      return e.status === 408
        ? `${where} failed with ${status}${body}: the server timed out waiting for the request. It is retried with backoff.${id}`
        : `${where} failed with ${status}${body}: the API rejected the request. Check the method, headers and body against the API's documentation. It is not retried.${id}`
    case "ServerError": {
      const decision = retryDecision(e)
      const advice = decision === "fail"
        ? "This status means the server will not handle this request: it is not retried."
        : decision === "retry-after"
        ? `Idempotent requests are retried after the ${
          formatDuration(e.retryAfter!)
        } its Retry-After asks for; errors under 1% of traffic are normal.`
        : "Idempotent requests are retried with backoff; errors under 1% of traffic are normal."
      return `${where} failed with ${status}${body}: the API failed. ${advice} If it persists, report it to the API provider.${id}`
    }
    case "Timeout": {
      const after = e.timeout === undefined ? "" : ` after ${formatDuration(e.timeout)}`
      const advice = e.phase === "deadline"
        ? "It is not retried: raise the deadline, or make the call do less."
        : "It is retried with backoff like a 5xx; if it happens often, check the network path or raise the timeout."
      const cause = causeNote(e)
      const detail = cause === "" ? "" : ` (${cause})`
      return `${where} timed out${after} ${phaseText[e.phase ?? "attempt"]}${detail}. ${advice}`
    }
    case "NetworkError": {
      const cause = causeNote(e)
      const code = e.code === undefined ? "" : `${e.code}: `
      const detail = cause === "" && code === "" ? "" : ` (${code}${cause})`
      if (e.reason === "InvalidUrl") {
        return `${where} could not be sent: the URL is invalid${detail}. Check the base URL and the path. It is not retried.`
      }
      if (e.reason === "Encode") {
        return `${where} could not be sent: its body could not be encoded${detail}. Fix the request body. It is not retried.`
      }
      return e.sent === false
        ? `${where} could not reach the server${detail}. Nothing was sent; it is retried with backoff. If it persists, check the base URL, DNS, proxy settings and that the API is up.`
        : `${where} lost its connection before a response arrived${detail}. The server may have applied the request: it is retried with backoff only if it is idempotent or carries an Idempotency-Key.`
    }
    case "InvalidResponse":
      if (e.status !== undefined && e.status >= 300 && e.status < 400) {
        const to = e.location === undefined ? " without a Location" : ` to ${e.location}`
        return `${where} was redirected (${
          statusLine(e.status)
        })${to}, and the client does not follow redirects that leave the API's origin or exceed its limit: the access token is only ever sent to the API's origin. If the API has moved, update the base URL; to follow same-origin redirects, allow them in the client's config.${id}`
      }
      return `${where} returned ${statusLine(e.status ?? 200)} but its body is not what was expected: ${
        oneLine(e.problem ?? "", 500)
      }. The API's contract may have changed: update the response schema or report it to the API provider. It is not retried.${id}`
    default:
      return `${where} failed`
  }
}

/** @internal */
export const toJSON = (e: ErrorShape): Record<string, unknown> => {
  const out: Record<string, unknown> = { _tag: e._tag, message: describe(e) }
  for (const [key, value] of Object.entries(e)) {
    if (key === "_tag" || key === "cause" || value === undefined) continue
    if (Duration.isDuration(value)) out[key] = Duration.toMillis(value)
    else out[key] = value
  }
  if (e.cause !== undefined) out.cause = causeToJSON(e.cause)
  return out
}

const causeToJSON = (cause: unknown): unknown => {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return { name: cause.name, message: cause.message, ...(typeof code === "string" ? { code } : {}) }
  }
  return cause
}
