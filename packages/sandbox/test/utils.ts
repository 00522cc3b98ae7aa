import { SandboxConfig, Stats } from "@bulwark/sandbox"
import { Sandbox } from "@bulwark/sandbox"
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"

/** A sandbox on an ephemeral loopback port plus an undici HttpClient. */
export const sandboxLayer = (config?: SandboxConfig.Input) =>
  Layer.merge(Sandbox.layer(config), NodeHttpClient.layerUndici)

/** The same sandbox served in memory: same app, no socket. */
export const inMemoryLayer = (config?: SandboxConfig.Input) => Sandbox.layerInMemory(config)

/**
 * Both transports, for suites that must hold over either: the in-memory transport is only worth having if
 * the sandbox answers through it exactly as over TCP.
 */
export const transports = [
  { name: "TCP", sandboxLayer },
  { name: "in memory", sandboxLayer: inMemoryLayer }
] as const

export const demo = SandboxConfig.demoClient
export const readOnly = SandboxConfig.readOnlyClient

export const TokenResponse = Schema.Struct({
  access_token: Schema.String,
  token_type: Schema.Literal("Bearer"),
  expires_in: Schema.Number,
  scope: Schema.String
})

export const OAuthError = Schema.Struct({ error: Schema.String, error_description: Schema.String })

export const ErrorBody = Schema.Struct({
  code: Schema.Number,
  message: Schema.String,
  details: Schema.Array(Schema.Unknown)
})

/** Sends a request to the sandbox; paths are relative to its base URL. */
export const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const client = yield* HttpClient.HttpClient
    return yield* client.execute(HttpClientRequest.prependUrl(request, sandbox.url)).pipe(
      // Client spans are not what these tests look at, and they cost time over thousands of requests.
      Effect.locally(HttpClient.currentTracerDisabledWhen, () => true)
    )
  })

/** Sends a request and reads its body as text, so the connection is free for the next one. */
export const exchange = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const response = yield* send(request)
    const text = yield* response.text
    return { response, status: response.status, headers: response.headers, text }
  })

export const json = (text: string): any => JSON.parse(text)

export const tokenRequest = (
  client: { readonly clientId: string; readonly clientSecret: string } = demo,
  params: Record<string, string> = { grant_type: "client_credentials" }
) =>
  HttpClientRequest.post("/oauth/token").pipe(
    HttpClientRequest.basicAuth(client.clientId, client.clientSecret),
    HttpClientRequest.bodyUrlParams(params)
  )

/** Fetches an access token for a client. */
export const token = (
  client: { readonly clientId: string; readonly clientSecret: string } = demo,
  scope?: string
) =>
  Effect.gen(function*() {
    const params: Record<string, string> = { grant_type: "client_credentials" }
    if (scope !== undefined) params.scope = scope
    const { status, text } = yield* exchange(tokenRequest(client, params))
    if (status !== 200) return yield* Effect.dieMessage(`token request failed with ${status}: ${text}`)
    return Schema.decodeUnknownSync(TokenResponse)(json(text)).access_token
  })

export const withToken = (accessToken: string) => HttpClientRequest.bearerToken(accessToken)

export const item = (n: number) => ({ sku: `SKU-${n}`, name: `Item ${n}`, price: n, tags: ["demo"] })

export const stats = Effect.flatMap(Sandbox.Sandbox, (sandbox) => sandbox.stats)

export const decodeStats = Schema.decodeUnknownSync(Stats.schema)

export type Exchange = {
  readonly response: HttpClientResponse.HttpClientResponse
  readonly status: number
  readonly text: string
}
