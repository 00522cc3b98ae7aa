import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Handler } from "./http.js"
import { decodeText, oauthError, readBody, REALM, retryAfter, retryAfterAt } from "./http.js"
import { parseBasic, parseForm } from "./parsers.js"
import type { State } from "./state.js"

const basicChallenge = { "www-authenticate": `Basic realm="${REALM}", charset="UTF-8"` }

/** @internal */
export const tokenEndpoint: Handler = (ctx) =>
  Effect.gen(function*() {
    const { request, state } = ctx
    if (state.decideToken()) {
      const now = yield* Clock.currentTimeMillis
      const after = retryAfter(state, now, state.policy.faults.tokenEndpoint.retryAfterSeconds)
      return oauthError(
        503,
        "temporarily_unavailable",
        "The token service is temporarily unavailable (an injected fault); retry after the Retry-After delay",
        { "retry-after": after.value }
      )
    }
    const contentType = request.headers["content-type"]
    if (contentType === undefined || !/^\s*application\/x-www-form-urlencoded\s*(?:;|$)/i.test(contentType)) {
      return oauthError(
        400,
        "invalid_request",
        "Send the token request as Content-Type: application/x-www-form-urlencoded (RFC 6749 §4.4.2)"
      )
    }
    const maxBytes = state.config.maxBodyBytes
    const bytes = yield* Effect.either(readBody(request, maxBytes))
    if (Either.isLeft(bytes)) {
      return bytes.left === "TooLarge"
        ? oauthError(413, "invalid_request", `The request body is larger than the limit of ${maxBytes} bytes`)
        : oauthError(400, "invalid_request", "The request body could not be read")
    }
    const text = decodeText(bytes.right)
    const form = text === undefined ? undefined : parseForm(text)
    if (form === undefined) {
      return oauthError(400, "invalid_request", "The body is not valid application/x-www-form-urlencoded")
    }
    for (const [name, values] of form) {
      if (values.length > 1) {
        return oauthError(
          400,
          "invalid_request",
          `The parameter ${JSON.stringify(name.slice(0, 50))} is repeated; send each parameter once (RFC 6749 §3.2)`
        )
      }
    }
    const param = (name: string) => form.get(name)?.[0]
    const grantType = param("grant_type")
    if (grantType === undefined || grantType === "") {
      return oauthError(
        400,
        "invalid_request",
        "The grant_type parameter is required: send grant_type=client_credentials"
      )
    }
    if (grantType !== "client_credentials") {
      return oauthError(
        400,
        "unsupported_grant_type",
        `The grant type ${JSON.stringify(grantType.slice(0, 50))} is not supported: use client_credentials`
      )
    }

    // Client authentication: HTTP Basic (RFC 6749 §2.3.1) or client_id/client_secret in the body.
    const authorization = request.headers.authorization
    const bodyId = param("client_id")
    const bodySecret = param("client_secret")
    let client: ReturnType<State["authenticate"]>
    if (authorization !== undefined) {
      const basic = parseBasic(authorization)
      if (basic === undefined) {
        return oauthError(
          401,
          "invalid_client",
          "The Authorization header uses an unsupported scheme: authenticate the client with HTTP Basic",
          basicChallenge
        )
      }
      if (basic === "malformed") {
        return oauthError(
          401,
          "invalid_client",
          "The Authorization header is not valid HTTP Basic: expected Basic base64(client_id:client_secret)",
          basicChallenge
        )
      }
      if (bodySecret !== undefined) {
        return oauthError(
          400,
          "invalid_request",
          "Use one client authentication method: HTTP Basic or client_id/client_secret in the body, not both"
        )
      }
      client = (basic.decoded && state.authenticate(basic.decoded.clientId, basic.decoded.clientSecret)) ||
        state.authenticate(basic.raw.clientId, basic.raw.clientSecret)
      if (client === undefined) {
        return oauthError(
          401,
          "invalid_client",
          "Client authentication failed: unknown client_id or wrong client_secret",
          basicChallenge
        )
      }
      if (bodyId !== undefined && bodyId !== client.clientId) {
        return oauthError(400, "invalid_request", "The client_id in the body differs from the authenticated client")
      }
    } else {
      if (bodyId === undefined || bodySecret === undefined) {
        return oauthError(
          401,
          "invalid_client",
          "The client did not authenticate: send HTTP Basic credentials, or client_id and client_secret in the body",
          basicChallenge
        )
      }
      client = state.authenticate(bodyId, bodySecret)
      if (client === undefined) {
        return oauthError(
          401,
          "invalid_client",
          "Client authentication failed: unknown client_id or wrong client_secret"
        )
      }
    }

    const now = yield* Clock.currentTimeMillis
    state.noteArrival(client.clientId, now)

    const requested = param("scope")?.split(" ").filter((s) => s !== "")
    const scopes = new Set(requested === undefined || requested.length === 0 ? client.roles : requested)
    for (const scope of scopes) {
      if (!client.roles.includes(scope)) {
        return oauthError(
          400,
          "invalid_scope",
          `The scope ${JSON.stringify(scope.slice(0, 50))} is not granted to this client; it may request: ${
            client.roles.join(" ") || "(nothing)"
          }`
        )
      }
    }

    const limit = state.policy.tokens.requestLimit
    if (limit !== null) {
      const check = state.checkQuota(state.tokenQuotas, limit, client.clientId, now)
      if (!check.allowed) {
        state.rateLimited++
        const after = retryAfterAt(state, now, now + check.retryMs, 1)
        const seconds = Math.max(1, Math.ceil(check.retryMs / 1000))
        state.noteRetryAfter(client.clientId, after.at)
        return oauthError(
          429,
          "slow_down",
          `Too many token requests: this client may request ${limit.limit} tokens per ${limit.windowSeconds} s. ` +
            `Reuse the access token until it expires; retry after ${seconds} s`,
          { "retry-after": after.value }
        )
      }
    }

    const issued = state.issueToken(client.clientId, scopes, now)
    return HttpServerResponse.unsafeJson({
      access_token: issued.token,
      token_type: "Bearer",
      expires_in: issued.expiresIn,
      scope: [...scopes].join(" ")
    }, { headers: { "cache-control": "no-store", pragma: "no-cache" } })
  }).pipe(
    Effect.tap((response) =>
      Effect.sync(() => {
        if (response.status >= 400 && response.status < 500) ctx.state.tokenRequestsRejected++
      })
    )
  )
