import { Effect, type Exit, Tracer } from "effect"

export interface RecordedSpan {
  readonly name: string
  readonly parent: string | undefined
  readonly attributes: ReadonlyMap<string, unknown>
  /** The exit the span ended with, as a tracer that records exits would see it. */
  readonly exit: Exit.Exit<unknown, unknown> | undefined
  readonly events: ReadonlyArray<unknown>
}

/**
 * Runs `effect` with a tracer that records every span (Effect's own native spans underneath), so tests can
 * check which spans exist, how they nest, and that none of their attributes holds a secret.
 */
export const withRecordedSpans = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const native = yield* Effect.tracer
    const spans: Array<{ readonly span: Tracer.Span }> = []
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = native.span(name, parent, context, links, startTime, kind, options)
        spans.push({ span })
        return span
      },
      context: (f, fiber) => native.context(f, fiber)
    })
    const result = yield* Effect.withTracer(effect, tracer)
    const recorded: Array<RecordedSpan> = spans.map(({ span }) => ({
      name: span.name,
      parent: span.parent._tag === "Some" && span.parent.value._tag === "Span" ? span.parent.value.name : undefined,
      attributes: span.attributes,
      exit: span.status._tag === "Ended" ? span.status.exit : undefined,
      events: (span as unknown as { readonly events?: ReadonlyArray<unknown> }).events ?? []
    }))
    return { result, spans: recorded }
  })
