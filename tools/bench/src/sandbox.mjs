// Starts the sandbox in a child process and controls it over IPC: stats, reset, revoke, faults.
import { fork } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"

export const startSandbox = async (config) => {
  const child = fork(fileURLToPath(new URL("./sandbox-child.mjs", import.meta.url)), [JSON.stringify(config)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const [ready] = await once(child, "message")
  let next = 0
  const pending = new Map()
  child.on("message", (message) => {
    const waiter = pending.get(message.id)
    if (waiter === undefined) return
    pending.delete(message.id)
    if (message.ok) waiter.resolve(message.value)
    else waiter.reject(new Error(message.error))
  })
  const send = (op, arg) =>
    new Promise((resolve, reject) => {
      const id = next++
      pending.set(id, { resolve, reject })
      child.send({ id, op, arg })
    })
  return {
    url: ready.url,
    tokenUrl: ready.tokenUrl,
    stats: () => send("stats"),
    reset: () => send("reset"),
    revokeTokens: () => send("revokeTokens"),
    setFaults: (faults) => send("setFaults", faults),
    close: async () => {
      const exited = once(child, "exit")
      await send("close").catch(() => undefined)
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
      await exited
      clearTimeout(timer)
    }
  }
}
