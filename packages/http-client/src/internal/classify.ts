/**
 * The classification stage, right above the transport: turns statuses and transport failures into `ApiError`s
 * for every stage above, and turns the platform's transport span off (it records URLs and headers unredacted)
 * while still sending `traceparent` from the attempt span. Redirects are handed on by classification and
 * followed (or refused) by the redirect stage above the bearer stage. It is the same code as the fused
 * pipeline's innermost `Send` (`transport.ts`), over the given client.
 */
import type { ApiError, Classify } from "@bulwark/core-errors"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import { type Client, toClient } from "./stage.js"
import { transportSend } from "./transport.js"

/** @internal */
export const classify =
  (options?: Classify.Options) =>
  <E, R>(self: Client<E, R>): Client<ApiError.ApiError | Exclude<E, HttpClientError.HttpClientError>, R> =>
    toClient(transportSend(self as Client<any, never>, options ?? {})) as Client<any, any>
