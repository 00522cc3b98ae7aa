// One replica of the fleet scenario, in its own process: builds its contender, waits for the common start, calls
// back to back for the run's duration and reports its records to the parent over IPC.
//
// argv[2]: JSON { contender, url, tokenUrl, redisPrefix, durationMs, concurrency }; the start time comes over IPC.
import { contenders, fleetContender } from "./contenders.mjs"
import { timedLoop } from "./measure.mjs"

const options = JSON.parse(process.argv[2])
const spec = options.contender === "bulwark+redis"
  ? fleetContender(options.redisPrefix)
  : contenders.find((c) => c.name === options.contender)
const client = await spec.make({ url: options.url, tokenUrl: options.tokenUrl })
// The parent answers "ready" with the common start time, once every replica is built.
const started = new Promise((resolve) => process.once("message", (message) => resolve(message.startAt)))
process.send({ ready: true })
const startAt = await started
await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())))
const result = await timedLoop({ call: client.call, durationMs: options.durationMs, concurrency: options.concurrency })
// Record times are relative to this replica's start of the loop, which is the common start (give or take a timer).
process.send({ done: true, records: result.records, errors: result.errors, wallMs: result.wallMs })
await client.close().catch(() => undefined)
process.exit(0)
