/**
 * How the sandbox drops a connection without answering (the "reset before / after processing" faults).
 * The sandbox's HTTP app needs it; each transport provides its own: {@link layerNode} resets the TCP
 * connection of a Node `http` request (`Sandbox.layer` provides it), an in-memory transport can fail the
 * exchange its own way.
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import * as internal from "./internal/connection.js"

/**
 * The service: `reset(request)` drops the connection `request` came in on and never returns (the server
 * interrupts the request's fiber once the connection is gone).
 *
 * @since 0.1.0
 * @category tags
 */
export const ConnectionControl: typeof internal.ConnectionControl = internal.ConnectionControl

/**
 * @since 0.1.0
 * @category models
 */
export type ConnectionControl = internal.ConnectionControl

/**
 * @since 0.1.0
 * @category models
 */
export type Service = internal.ConnectionControlService

/**
 * Resets the TCP connection of a request served by `@effect/platform-node`'s `NodeHttpServer` (a TCP RST,
 * so the client sees `ECONNRESET`). For a request that is not a Node request it interrupts the handler.
 *
 * @since 0.1.0
 * @category constructors
 */
export const node: Service = internal.node

/**
 * @since 0.1.0
 * @category layers
 */
export const layerNode: Layer.Layer<ConnectionControl> = internal.layerNode
