import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Faults, PresetName, SandboxConfig } from "./config.js"
import * as Config from "./config.js"
import type { ConnectionControl } from "./connection.js"
import type { Ctx, Handler, Response } from "./http.js"
import { badRequest, errorResponse, httpDate } from "./http.js"
import { createItem, deleteItem, getItem, listItems, resource, updateItem } from "./resources.js"
import { State } from "./state.js"
import type { Stats } from "./stats.js"
import { tokenEndpoint } from "./token.js"

// ---------------------------------------------------------------------------------------------
// /__sandbox
// ---------------------------------------------------------------------------------------------

const control = (f: (ctx: Ctx, now: number) => Response): Handler => (ctx) =>
  Effect.map(Clock.currentTimeMillis, (now) => f(ctx, now))

const stats = control((ctx, now) => HttpServerResponse.unsafeJson(ctx.state.snapshot(now)))
const health = control(() => HttpServerResponse.unsafeJson({ status: "ok" }))
const reset = control((ctx, now) => {
  ctx.state.reset(now)
  return HttpServerResponse.empty({ status: 204 })
})
const revokeTokens = control((ctx, now) => {
  const clientId = new URLSearchParams(ctx.query).get("client_id") ?? undefined
  return HttpServerResponse.unsafeJson({ revoked: ctx.state.revokeTokens(clientId, now) })
})
const usePreset = control((ctx, now) => {
  const name = ctx.params[0]!
  if (!(Config.presetNames as ReadonlyArray<string>).includes(name)) {
    return badRequest([{ field: "name", issue: `must be one of ${Config.presetNames.join(", ")}` }])
  }
  ctx.state.setPolicy(Config.presetPolicy(name as PresetName), now)
  return HttpServerResponse.unsafeJson({ preset: name })
})

// ---------------------------------------------------------------------------------------------
// routing
// ---------------------------------------------------------------------------------------------

type Kind = "token" | "resource" | "control"

interface Route {
  readonly pattern: string
  readonly segments: ReadonlyArray<string>
  readonly kind: Kind
  readonly methods: Readonly<Record<string, Handler>>
  readonly allow: string
}

const route = (pattern: string, kind: Kind, methods: Record<string, Handler>): Route => {
  const names = Object.keys(methods)
  if (names.includes("GET")) names.splice(names.indexOf("GET") + 1, 0, "HEAD")
  return { pattern, segments: pattern.slice(1).split("/"), kind, methods, allow: names.join(", ") }
}

const routes: ReadonlyArray<Route> = [
  route("/oauth/token", "token", { POST: tokenEndpoint }),
  route("/v1/items", "resource", {
    GET: resource("items:read", listItems),
    POST: resource("items:write", createItem)
  }),
  route("/v1/items/:id", "resource", {
    GET: resource("items:read", getItem),
    PUT: resource("items:write", updateItem),
    DELETE: resource("items:write", deleteItem)
  }),
  route("/__sandbox/stats", "control", { GET: stats }),
  route("/__sandbox/health", "control", { GET: health }),
  route("/__sandbox/reset", "control", { POST: reset }),
  route("/__sandbox/revoke-tokens", "control", { POST: revokeTokens }),
  route("/__sandbox/preset/:name", "control", { PUT: usePreset })
]

const matchRoute = (path: string): { readonly route: Route; readonly params: Array<string> } | undefined => {
  const segments = path.slice(1).split("/")
  for (const candidate of routes) {
    if (candidate.segments.length !== segments.length) continue
    const params: Array<string> = []
    let matched = true
    for (let i = 0; i < segments.length; i++) {
      const expected = candidate.segments[i]!
      const actual = segments[i]!
      if (expected.startsWith(":")) {
        let decoded: string
        try {
          decoded = decodeURIComponent(actual)
        } catch {
          matched = false
          break
        }
        if (decoded === "") {
          matched = false
          break
        }
        params.push(decoded)
      } else if (expected !== actual) {
        matched = false
        break
      }
    }
    if (matched) return { route: candidate, params }
  }
  return undefined
}

const serve = (
  state: State,
  request: HttpServerRequest.HttpServerRequest,
  now: number
): Effect.Effect<Response, never, ConnectionControl> => {
  const requestId = state.nextRequestId()
  const url = request.url
  const q = url.indexOf("?")
  const path = q === -1 ? url : url.slice(0, q)
  const query = q === -1 ? "" : url.slice(q + 1)
  const method = request.method === "HEAD" ? "GET" : request.method
  const match = path.startsWith("/") ? matchRoute(path) : undefined

  let recorded = false
  let routeKey = "(unmatched)"
  let effect: Effect.Effect<Response, never, ConnectionControl>
  let ctx: Ctx | undefined
  if (match === undefined) {
    effect = Effect.succeed(errorResponse(404, `No route for ${request.method} ${path.slice(0, 200)}`, [
      { field: "path", issue: "does not exist; see the README for the routes" }
    ]))
  } else {
    const { params, route } = match
    routeKey = `${method} ${route.pattern}`
    // The control routes are not counted: reading the stats must not change them.
    if (route.kind === "control") recorded = true
    const handler = route.methods[method]
    if (handler === undefined) {
      effect = Effect.succeed(errorResponse(
        405,
        `The method ${request.method} is not allowed on ${route.pattern}; allowed: ${route.allow}`,
        [{ field: "method", issue: `must be one of ${route.allow}` }],
        { allow: route.allow }
      ))
    } else {
      const record = route.kind === "control"
        ? () => {}
        : (outcome: string) => {
          recorded = true
          state.record(routeKey, outcome)
        }
      ctx = {
        state,
        request,
        query,
        params,
        route: `${method} ${route.pattern}`,
        record,
        outcome: undefined
      }
      effect = handler(ctx)
    }
  }

  return effect.pipe(
    Effect.catchAllDefect((defect) =>
      Effect.succeed(errorResponse(
        500,
        `The sandbox hit a bug handling this request (${
          String(defect instanceof Error ? defect.message : defect).slice(0, 200)
        }); please report it with the request id`
      ))
    ),
    Effect.map((response) => {
      if (!recorded) {
        recorded = true
        state.record(routeKey, ctx?.outcome ?? String(response.status))
      }
      return HttpServerResponse.setHeaders(response, { "x-request-id": requestId, date: httpDate(now) })
    })
  )
}

// ---------------------------------------------------------------------------------------------
// the app and its control handle
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface Control {
  readonly config: SandboxConfig
  readonly stats: Effect.Effect<Stats>
  readonly reset: Effect.Effect<void>
  readonly revokeTokens: (clientId?: string) => Effect.Effect<number>
  readonly setFaults: (faults: Faults) => Effect.Effect<void>
  readonly usePreset: (preset: PresetName) => Effect.Effect<void>
}

/** @internal */
export interface SandboxApp {
  readonly app: HttpApp.Default<never, ConnectionControl>
  readonly control: Control
}

/** @internal */
export const make = (config: SandboxConfig): Effect.Effect<SandboxApp> =>
  Effect.map(Clock.currentTimeMillis, (startedAt) => {
    const state = new State(config, startedAt)
    const app: HttpApp.Default<never, ConnectionControl> = Effect.interruptible(
      Effect.flatMap(
        HttpServerRequest.HttpServerRequest,
        (request) => Effect.flatMap(Clock.currentTimeMillis, (now) => serve(state, request, now))
      )
    )
    const withNow = (f: (now: number) => void) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => f(now)))
    const control: Control = {
      config,
      stats: Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => state.snapshot(now))),
      reset: withNow((now) => state.reset(now)),
      revokeTokens: (clientId) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => state.revokeTokens(clientId, now))),
      setFaults: (faults) => withNow((now) => state.setPolicy({ ...state.policy, faults }, now)),
      usePreset: (preset) => withNow((now) => state.setPolicy(Config.presetPolicy(preset), now))
    }
    return { app, control }
  })
