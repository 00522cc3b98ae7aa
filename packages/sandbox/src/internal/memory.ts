import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { InMemoryOptions } from "../Sandbox.js"
import * as Connection from "./connection.js"

/**
 * The origin the in-memory sandbox answers on. `.test` is reserved (RFC 2606): the name can never resolve,
 * so a request that escapes the in-memory transport fails instead of reaching a real host.
 *
 * @internal
 */
export const origin = "http://sandbox.test"

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const emptyBytes = new Uint8Array(0)

/** A connection reset, as undici reports one, so the client classifies it exactly as over TCP. */
const connectionReset = (): Error =>
  Object.assign(new Error("other side closed (in-memory connection reset)"), { code: "ECONNRESET" })

// ---------------------------------------------------------------------------------------------
// the request as the sandbox sees it
// ---------------------------------------------------------------------------------------------

class InMemoryServerRequest extends Inspectable.Class implements HttpServerRequest.HttpServerRequest {
  readonly [HttpServerRequest.TypeId]: HttpServerRequest.TypeId = HttpServerRequest.TypeId
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId

  constructor(
    readonly source: HttpClientRequest.HttpClientRequest,
    readonly url: string,
    readonly headers: Headers.Headers,
    private readonly body: Uint8Array
  ) {
    super()
  }

  get originalUrl(): string {
    return this.url
  }
  get method(): HttpMethod {
    return this.source.method
  }
  get cookies(): Record<string, string> {
    const header = this.headers.cookie
    return header === undefined ? {} : Cookies.parseHeader(header)
  }
  get remoteAddress(): Option.Option<string> {
    return Option.some("127.0.0.1")
  }
  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpServerError.RequestError> {
    const { body } = this
    return Effect.succeed(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer)
  }
  get text(): Effect.Effect<string, HttpServerError.RequestError> {
    return Effect.succeed(decoder.decode(this.body))
  }
  get json(): Effect.Effect<unknown, HttpServerError.RequestError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (cause) => new HttpServerError.RequestError({ request: this, reason: "Decode", cause })
      }))
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpServerError.RequestError> {
    return Effect.map(this.text, (text) => UrlParams.fromInput(new URLSearchParams(text)))
  }
  get stream(): Stream.Stream<Uint8Array, HttpServerError.RequestError> {
    return this.body.byteLength === 0 ? Stream.empty : Stream.succeed(this.body)
  }
  get multipart(): HttpServerRequest.HttpServerRequest["multipart"] {
    return Effect.die(new Error("The in-memory sandbox transport does not carry multipart bodies"))
  }
  get multipartStream(): HttpServerRequest.HttpServerRequest["multipartStream"] {
    return Stream.die(new Error("The in-memory sandbox transport does not carry multipart bodies"))
  }
  get upgrade(): HttpServerRequest.HttpServerRequest["upgrade"] {
    return Effect.fail(
      new HttpServerError.RequestError({
        request: this,
        reason: "Transport",
        description: "the in-memory sandbox transport cannot upgrade connections"
      })
    )
  }
  modify(options: {
    readonly url?: string
    readonly headers?: Headers.Headers
    readonly remoteAddress?: string
  }): HttpServerRequest.HttpServerRequest {
    return new InMemoryServerRequest(
      this.source,
      options.url ?? this.url,
      options.headers ?? this.headers,
      this.body
    )
  }
  toJSON(): unknown {
    return IncomingMessage.inspect(this, {
      _id: "@bulwark/sandbox/InMemoryServerRequest",
      method: this.method,
      url: this.url
    })
  }
}

// ---------------------------------------------------------------------------------------------
// the response as the client sees it
// ---------------------------------------------------------------------------------------------

type ResponseBody =
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
  | { readonly _tag: "Stream"; readonly stream: Stream.Stream<Uint8Array, unknown> }

class InMemoryClientResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly status: number,
    readonly headers: Headers.Headers,
    readonly cookies: Cookies.Cookies,
    private readonly body: ResponseBody
  ) {
    super()
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    const body = this.body
    if (body._tag === "Bytes") return body.bytes.byteLength === 0 ? Stream.empty : Stream.succeed(body.bytes)
    return Stream.mapError(body.stream, (cause) => this.decodeError(cause))
  }

  private bytesBody?: Effect.Effect<Uint8Array, HttpClientError.ResponseError>
  /** The whole body, read once (a streamed body is read when first asked for, like a socket's). */
  get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    const body = this.body
    if (body._tag === "Bytes") return Effect.succeed(body.bytes)
    return this.bytesBody ??= Effect.runSync(Effect.cached(
      Stream.runCollect(this.stream).pipe(Effect.map((chunks) => concat(Chunk.toReadonlyArray(chunks))))
    ))
  }
  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(
      this.bytes,
      (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    )
  }
  private textBody?: string
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    if (this.textBody !== undefined) return Effect.succeed(this.textBody)
    return Effect.map(this.bytes, (bytes) => this.textBody = decoder.decode(bytes))
  }
  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => text === "" ? null : JSON.parse(text) as unknown,
        catch: (cause) => this.decodeError(cause)
      }))
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.map(this.text, (text) => UrlParams.fromInput(new URLSearchParams(text)))
  }
  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.fail(this.decodeError(new Error("the in-memory sandbox transport does not decode form data")))
  }
  toJSON(): unknown {
    return IncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 0) return emptyBytes
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(chunks.reduce((size, chunk) => size + chunk.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// bodies
// ---------------------------------------------------------------------------------------------

/** The request body's bytes and the headers a socket transport would add for it (as undici does). */
const requestBody = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<
  { readonly bytes: Uint8Array; readonly contentType: string | undefined },
  HttpClientError.RequestError
> => {
  const body: HttpBody.HttpBody = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed({ bytes: emptyBytes, contentType: undefined })
    case "Uint8Array":
      return Effect.succeed({ bytes: body.body, contentType: body.contentType })
    case "Raw":
      if (typeof body.body === "string") {
        return Effect.succeed({ bytes: encoder.encode(body.body), contentType: body.contentType })
      }
      if (body.body instanceof Uint8Array) return Effect.succeed({ bytes: body.body, contentType: body.contentType })
      break
    case "Stream":
      return Stream.runCollect(body.stream).pipe(
        Effect.map((chunks) => ({ bytes: concat(Chunk.toReadonlyArray(chunks)), contentType: body.contentType })),
        Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause }))
      )
    case "FormData":
      break
  }
  return Effect.fail(
    new HttpClientError.RequestError({
      request,
      reason: "Encode",
      description: `the in-memory sandbox transport cannot send a ${body._tag} body; send JSON, text or bytes`
    })
  )
}

const responseOf = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpServerResponse.HttpServerResponse
): InMemoryClientResponse => {
  const body = response.body
  let headers = response.headers
  let payload: ResponseBody
  switch (body._tag) {
    case "Uint8Array":
      payload = { _tag: "Bytes", bytes: body.body }
      break
    case "Raw":
      payload = {
        _tag: "Bytes",
        bytes: typeof body.body === "string"
          ? encoder.encode(body.body)
          : body.body instanceof Uint8Array
          ? body.body
          : emptyBytes
      }
      break
    case "Stream":
      payload = { _tag: "Stream", stream: body.stream }
      break
    default:
      payload = { _tag: "Bytes", bytes: emptyBytes }
  }
  // What a server writes on the wire for the body, so the client reads the same headers as over TCP.
  if (body._tag !== "Empty" && body.contentType !== undefined && headers["content-type"] === undefined) {
    headers = Headers.set(headers, "content-type", body.contentType)
  }
  const length = payload._tag === "Bytes" ? payload.bytes.byteLength : body.contentLength
  if (length !== undefined && headers["content-length"] === undefined) {
    headers = Headers.set(headers, "content-length", String(length))
  }
  if (request.method === "HEAD") payload = { _tag: "Bytes", bytes: emptyBytes }
  return new InMemoryClientResponse(request, response.status, headers, response.cookies, payload)
}

// ---------------------------------------------------------------------------------------------
// the transport
// ---------------------------------------------------------------------------------------------

/**
 * The in-memory stand-in for a dropped connection: the handler is interrupted, and the transport turns
 * that into the `ECONNRESET` a socket would report.
 */
const memoryConnection: Connection.ConnectionControlService = { reset: () => Effect.interrupt }

/**
 * The path and query the sandbox sees for a request to its origin, `undefined` for another origin, or an
 * error for a URL that does not parse. The common case (an absolute URL on the sandbox's origin) is plain
 * string work: a simulation sends hundreds of thousands of requests.
 */
const urlSafe = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/

const targetOf = (request: HttpClientRequest.HttpClientRequest): string | undefined | Error => {
  const url = request.url
  let pathAndQuery: string
  if (
    url.startsWith(origin) &&
    (url.length === origin.length || url[origin.length] === "/" || url[origin.length] === "?") &&
    // Only characters a URL keeps as they are; anything else goes through `new URL`, which percent-encodes it.
    urlSafe.test(url)
  ) {
    pathAndQuery = url.slice(origin.length)
    const hash = pathAndQuery.indexOf("#")
    if (hash !== -1) pathAndQuery = pathAndQuery.slice(0, hash)
    if (pathAndQuery === "" || pathAndQuery[0] === "?") pathAndQuery = `/${pathAndQuery}`
  } else {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error))
    }
    if (parsed.origin !== origin) return undefined
    pathAndQuery = parsed.pathname + parsed.search
  }
  if (request.urlParams.length === 0) return pathAndQuery
  return `${pathAndQuery}${pathAndQuery.includes("?") ? "&" : "?"}${UrlParams.toString(request.urlParams)}`
}

/** @internal */
export const client = (
  app: HttpApp.Default<never, Connection.ConnectionControl>,
  options?: InMemoryOptions
): HttpClient.HttpClient => {
  const oneWayMillis = options?.latency === undefined ? 0 : Duration.toMillis(options.latency) / 2
  const connection = Context.make(Connection.ConnectionControl, memoryConnection)
  const travel = oneWayMillis > 0 ? Effect.sleep(Duration.millis(oneWayMillis)) : Effect.void
  const host = origin.slice("http://".length)

  const send = (
    request: HttpClientRequest.HttpClientRequest
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
    const target = targetOf(request)
    if (target === undefined) {
      return Effect.fail(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          description: `the in-memory sandbox answers only ${origin}, not ${
            request.url.slice(0, 200)
          }; use the sandbox's url`
        })
      )
    }
    if (target instanceof Error) {
      return Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: target }))
    }
    return Effect.flatMap(requestBody(request), ({ bytes, contentType }) => {
      let headers = request.headers
      if (contentType !== undefined && headers["content-type"] === undefined) {
        headers = Headers.set(headers, "content-type", contentType)
      }
      if (request.body._tag !== "Empty") headers = Headers.set(headers, "content-length", String(bytes.byteLength))
      headers = Headers.set(headers, "host", host)
      const serverRequest = new InMemoryServerRequest(request, target, headers, bytes)
      return travel.pipe(
        // One context for both services: each `provide` costs a context merge and a FiberRef swap.
        Effect.zipRight(
          Effect.exit(Effect.provide(app, Context.add(connection, HttpServerRequest.HttpServerRequest, serverRequest)))
        ),
        Effect.flatMap((exit) => {
          if (Exit.isSuccess(exit)) {
            const response = responseOf(request, exit.value)
            return oneWayMillis > 0 ? Effect.as(travel, response) : Effect.succeed(response)
          }
          // The app never fails; an interruption of the handler alone is the connection reset.
          if (Cause.isInterruptedOnly(exit.cause)) {
            return Effect.fail(
              new HttpClientError.RequestError({ request, reason: "Transport", cause: connectionReset() })
            )
          }
          return Effect.failCause(exit.cause)
        })
      )
    })
  }
  // `makeWith`, not `make`: no AbortController, response registry or transport span per request. The
  // exchange runs in the caller's fiber, so interrupting the caller is all an abort needs to do.
  return HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (request) => Effect.flatMap(request, send),
    Effect.succeed
  )
}
