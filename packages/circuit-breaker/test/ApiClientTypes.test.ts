import type { CircuitOpen } from "@bulwark/circuit-breaker"
import { CircuitBreaker } from "@bulwark/circuit-breaker"
import { ApiClient } from "@bulwark/http-client"
import { describe, expectTypeOf, it } from "@effect/vitest"
import type { Effect } from "effect"

describe("ApiClient.make with the breaker", () => {
  it("infers CircuitOpen into the error channel of the client and its helpers", () => {
    const _make = (breaker: CircuitBreaker.Service) =>
      ApiClient.make({ baseUrl: "https://api.partner.example/v1", auth: "none" }, {
        perAttempt: [CircuitBreaker.plugin(breaker)]
      })
    type Api = Effect.Effect.Success<ReturnType<typeof _make>>
    expectTypeOf<Api>().toEqualTypeOf<ApiClient.Service<CircuitOpen.CircuitOpen>>()
    type GetError = Effect.Effect.Error<ReturnType<Api["del"]>>
    expectTypeOf<CircuitOpen.CircuitOpen>().toMatchTypeOf<GetError>()
  })

  it("adds nothing without plugins", () => {
    const _plain = ApiClient.make({ baseUrl: "https://api.partner.example/v1", auth: "none" })
    expectTypeOf<Effect.Effect.Success<typeof _plain>>().toEqualTypeOf<ApiClient.Service<never>>()
  })
})
