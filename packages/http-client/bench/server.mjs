// A minimal keep-alive JSON server for the overhead benchmark, run in its own process so the client
// being measured has a core to itself. Prints its port on stdout.
import * as Http from "node:http"

const body = JSON.stringify({ id: "item-1", sku: "SKU-1", name: "Lamp", price: 12.5 })
const server = Http.createServer((req, res) => {
  req.resume()
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`))
process.on("SIGTERM", () => server.close(() => process.exit(0)))
