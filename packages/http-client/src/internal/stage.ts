/**
 * The shape every stage of the pipeline shares, and the URL helpers the stages use.
 *
 * A stage is a function from the next `Send` to a `Send`: it sees each request it is asked to send, with the
 * call it belongs to, and may send it on any number of times (or with changes). The standard pipeline is an
 * ordered list of stages, outermost first, linked once by `compile`; the call's state is an argument, so no
 * stage reads a FiberRef on the hot path. A public plugin is one stage compiled over a client (`plugin`): the
 * fused pipeline and the plugins run the same code. Between separately composed clients (plugins composed by
 * hand, per-attempt plugins) the call travels in a FiberRef instead.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import { type CallState, currentCallState, withState } from "./callState.js"

export type Client<E, R> = HttpClient.HttpClient.With<E, R>

/** Sends one request of a call and yields its response. */
export type Send<E = any, R = any> = (
  request: HttpClientRequest.HttpClientRequest,
  call: CallState
) => Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>

/** One stage: given the next `Send` (towards the transport), the `Send` the stage above calls. */
export type Stage = (next: Send) => Send

/** Links `stages` (outermost first) over `innermost` once; the result is called once per request. */
export const compile = (stages: ReadonlyArray<Stage>, innermost: Send): Send => {
  let send = innermost
  for (let i = stages.length - 1; i >= 0; i--) send = stages[i]!(send)
  return send
}

/**
 * A client as the innermost `Send`. A client composed of Bulwark stages finds the call in the FiberRef, which
 * `toClient` set when the call started above it.
 */
export const sendVia = <E, R>(client: Client<E, R>): Send<E, R> => (request) => client.execute(request)

/**
 * A `Send` as an `HttpClient`: each request joins the call of the stage above it (a client composed by hand)
 * or starts a new one, kept in the FiberRef for the clients below.
 */
export const toClient = <E, R>(send: Send<E, R>): Client<E, R> =>
  HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(request, (request) => withState((call) => send(request, call))),
    Effect.succeed
  )

/** A plugin from one stage: the stage compiled over `self`, the same code the fused pipeline runs. */
export const plugin = <E, R, E2 = E, R2 = R>(stage: Stage, self: Client<E, R>): Client<E2, R2> =>
  toClient(stage(sendVia(self))) as Client<E2, R2>

/** Where a plugin made by `fromStage` keeps its stage, for the fused pipeline to link directly. */
export const StageTypeId: unique symbol = Symbol.for("@bulwark/http-client/Stage")

/** A plugin (client to client) that also carries its stage, so the fused pipeline links the stage itself. */
export const fromStage = <F extends (self: Client<any, any>) => Client<any, any>>(stage: Stage): F => {
  const f = ((self: Client<any, any>) => plugin(stage, self)) as unknown as F
  Object.defineProperty(f, StageTypeId, { value: stage })
  return f
}

/**
 * A client-to-client function (a per-attempt plugin such as the circuit breaker) as a stage of the fused
 * pipeline: its own stage when it carries one (`fromStage`), otherwise the plugin over a client, with the call
 * in the FiberRef for the plugin (and what it calls below) to find.
 */
export const fromPlugin = (
  f: (self: Client<any, any>) => Client<any, any>
): Stage =>
(next) => {
  const own = (f as { readonly [StageTypeId]?: Stage })[StageTypeId]
  if (own !== undefined) return own(next)
  const wrapped = f(toClient(next))
  return (request, call) => Effect.locally(wrapped.execute(request), currentCallState, call)
}

/**
 * Builds a stage that sees each request it is asked to send and may send it to the inner client any
 * number of times (or with changes). The inner client's own request mapping applies to each send.
 */
export const stage = <E, R, E2, R2>(
  self: Client<E, R>,
  f: (
    request: HttpClientRequest.HttpClientRequest,
    send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, E2, R2>
): Client<E2, R2> =>
  HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(request, (request) => f(request, (r) => self.execute(r))),
    Effect.succeed
  )

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i

/** @internal */
export const resolveUrl = (base: string, url: string): string => {
  if (ABSOLUTE.test(url)) return url
  if (url === "") return base
  return base.endsWith("/")
    ? url.startsWith("/") ? base + url.slice(1) : base + url
    : url.startsWith("/") || url.startsWith("?")
    ? base + url
    : `${base}/${url}`
}

/** @internal */
export const baseUrl = (base: string) => <E, R>(self: Client<E, R>): Client<E, R> =>
  HttpClient.mapRequest(self, (request) => HttpClientRequest.setUrl(request, resolveUrl(base, request.url)))

/** @internal */
export const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/** @internal */
export const requestUrl = (request: HttpClientRequest.HttpClientRequest): string => {
  const query = request.urlParams.length === 0
    ? ""
    : `?${new URLSearchParams(request.urlParams.map(([k, v]) => [k, v] as [string, string])).toString()}`
  return `${request.url}${query}`
}
