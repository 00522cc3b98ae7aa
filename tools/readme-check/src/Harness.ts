/**
 * What the README examples run against: the in-memory sandbox of `@bulwark/sandbox` standing in for the partner
 * API they address. Every request, whatever its origin (`https://api.partner.example/v1/items`,
 * `https://auth.partner.example/oauth/token`), goes to the same in-memory sandbox, keeping its path; one with no
 * `Authorization` header (an example that leaves authentication out) gets the sandbox demo client's token.
 */
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { ConfigProvider, Effect, Layer, ManagedRuntime, Schema } from "effect"

const runtime = ManagedRuntime.make(Sandbox.layerInMemory({ seed: 1 }))

const Token = Schema.Struct({ access_token: Schema.String })

const client = runtime.runPromise(Effect.gen(function*() {
  const sandbox = yield* Sandbox.Sandbox
  const memory = yield* HttpClient.HttpClient
  const { clientId, clientSecret } = SandboxConfig.demoClient
  const token = yield* memory.execute(
    HttpClientRequest.post(sandbox.tokenUrl).pipe(
      HttpClientRequest.basicAuth(clientId, clientSecret),
      HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials" })
    )
  ).pipe(Effect.flatMap((response) => response.json), Effect.flatMap(Schema.decodeUnknown(Token)))
  // A transport of its own rather than `mapRequest`: the response must carry the request as the example sent it,
  // or the client takes the changed URL for a redirect its transport followed.
  return HttpClient.make((request) => {
    const url = new URL(request.url)
    const rerouted = HttpClientRequest.setUrl(request, `${sandbox.url}${url.pathname}${url.search}`)
    const sent = request.headers["authorization"] === undefined
      ? HttpClientRequest.bearerToken(rerouted, token.access_token)
      : rerouted
    return Effect.map(
      memory.execute(sent),
      (response) => Object.create(response, { request: { value: request, enumerable: true } }) as typeof response
    )
  })
}))

/**
 * An `HttpClient` layer that sends everything to the shared in-memory sandbox: the examples' runnable versions use
 * it where the README says `NodeHttpClient.layerUndici`.
 */
export const httpClient: Layer.Layer<HttpClient.HttpClient> = Layer.effect(
  HttpClient.HttpClient,
  Effect.promise(() => client)
)

/** The environment variables the examples read (`BULWARK_CLIENT_ID`, `BULWARK_CLIENT_SECRET`): the demo client. */
export const config: ConfigProvider.ConfigProvider = ConfigProvider.fromMap(
  new Map([
    ["BULWARK_CLIENT_ID", SandboxConfig.demoClient.clientId],
    ["BULWARK_CLIENT_SECRET", SandboxConfig.demoClient.clientSecret]
  ])
)

/** Stops the shared sandbox. */
export const dispose = (): Promise<void> => runtime.dispose()
