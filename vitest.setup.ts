/**
 * Property-test budgets that hold on a busy 2-core CI machine (loaded by every project through
 * `vitest.shared.ts`).
 *
 * Each property stops generating new cases after `PROPERTY_TIME_LIMIT_MS` (default 5 s) and passes on the runs it
 * made, instead of running into Vitest's 30 s test timeout when the machine is slow: a counterexample found in
 * the runs made still fails the test, and the cases are seeded, so a run is reproducible. The default suite keeps
 * its run counts small; `npm run fuzz` sets `FUZZ_RUNS`, which raises them and lifts the time limit.
 */
import fc from "fast-check"

const fuzzing = process.env.FUZZ_RUNS !== undefined

fc.configureGlobal({
  ...(fuzzing ? {} : { interruptAfterTimeLimit: Number(process.env.PROPERTY_TIME_LIMIT_MS ?? 5_000) }),
  markInterruptAsFailure: false
})
