import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Net from "node:net"

/** @internal */
export interface ConnectionControlService {
  readonly reset: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<never>
}

/** @internal */
export class ConnectionControl extends Context.Tag("@bulwark/sandbox/ConnectionControl")<
  ConnectionControl,
  ConnectionControlService
>() {}

const socketOf = (request: HttpServerRequest.HttpServerRequest): Net.Socket | undefined => {
  try {
    return NodeHttpServerRequest.toIncomingMessage(request)?.socket ?? undefined
  } catch {
    return undefined
  }
}

/** @internal */
export const node: ConnectionControlService = {
  reset: (request) =>
    Effect.suspend(() => {
      const socket = socketOf(request)
      if (socket === undefined) return Effect.interrupt
      // A TCP RST where the platform supports it (the client sees ECONNRESET), a plain close otherwise.
      if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy()
      else socket.destroy()
      // The server interrupts the request's fiber when it notices the closed connection.
      return Effect.never
    })
}

/** @internal */
export const layerNode: Layer.Layer<ConnectionControl> = Layer.succeed(ConnectionControl, node)
