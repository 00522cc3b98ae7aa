/**
 * Every stage of the pipeline and the metrics, each in its own module; this module gathers them for
 * `Plugins.ts` and the `ApiClient`.
 */
export { attemptTimeout } from "./attemptTimeout.js"
export { bearerToken } from "./bearer.js"
export { bufferBody, callWithBody } from "./body.js"
export { classify } from "./classify.js"
export { callDeadline, deadline, deadlineOf } from "./deadline.js"
export { hedge } from "./hedge.js"
export { idempotencyKey, isIdempotent, randomUuid } from "./idempotency.js"
export { attemptCounts, metrics, retryReasons, retryWaitMillis } from "./metrics.js"
export { observe } from "./observe.js"
export { rateLimiter, rateLimitGate } from "./rateLimitGate.js"
export { followRedirects } from "./redirects.js"
export { retry, type RetryOptions } from "./retry.js"
export { routesPlugin } from "./routes.js"
export { baseUrl, originOf, requestUrl, resolveUrl, stage } from "./stage.js"
export { trafficControl } from "./trafficStage.js"
