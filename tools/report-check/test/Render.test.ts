import { Simulation } from "@bulwark/simulation"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const catalogSync = join(root, "apps", "catalog-sync", "dist", "bin.js")

const chromium = [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"]
  .filter((name): name is string => name !== undefined && name !== "")
  .map((name) =>
    name.includes("/") ?
      name :
      (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, name)).find((path) => existsSync(path))
  )
  .find((path): path is string => path !== undefined && existsSync(path))

const missing = chromium === undefined
  ? "Chromium is not installed (apt-get install chromium, or set CHROMIUM to its path)"
  : undefined
if (missing !== undefined && process.env.CI !== undefined && process.env.CI !== "false") {
  throw new Error(`${missing}: CI must run the rendered-page check (.ci/run installs it)`)
}
if (missing !== undefined) console.warn(`skipping the rendered-page check: ${missing}`)

/** Runs in the page after layout; its findings are appended to the DOM, which Chromium dumps. */
const probe = `<script>
(() => {
  const problems = []
  const width = window.innerWidth
  const page = document.documentElement
  if (page.scrollWidth > width + 1) problems.push("the page scrolls sideways: " + page.scrollWidth + " px at " + width)
  for (const pre of document.querySelectorAll("pre")) {
    if (pre.scrollWidth > pre.clientWidth + 1) problems.push("a text block overflows its box by " + (pre.scrollWidth - pre.clientWidth) + " px")
  }
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.getBoundingClientRect()
    const labels = [...svg.querySelectorAll("text")].map((text) => ({ text: text.textContent, r: text.getBoundingClientRect() }))
    for (const { text, r } of labels) {
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
        problems.push("the label '" + text + "' sticks out of its chart")
      }
    }
    for (const a of labels) for (const b of labels) {
      if (a !== b && a.text < b.text && a.r.left < b.r.right && b.r.left < a.r.right && a.r.top < b.r.bottom && b.r.top < a.r.bottom) {
        problems.push("the labels '" + a.text + "' and '" + b.text + "' overlap")
      }
    }
  }
  const captions = [...document.querySelectorAll("figcaption")].map((caption) => caption.textContent)
  const empty = [...document.querySelectorAll("svg text.empty")].map((text) => text.textContent)
  const result = document.createElement("script")
  result.type = "application/json"
  result.id = "render-check"
  result.textContent = JSON.stringify({ width, problems, charts: document.querySelectorAll("svg").length, captions, empty })
  document.body.append(result)
})()
</script>`

interface Rendered {
  readonly width: number
  readonly problems: ReadonlyArray<string>
  readonly charts: number
  readonly captions: ReadonlyArray<string>
  readonly empty: ReadonlyArray<string>
}

const render = (dir: string, name: string, html: string, width: number): Rendered => {
  const file = join(dir, `${name}.html`)
  writeFileSync(file, html.replace("</body>", `${probe}</body>`))
  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", `--window-size=${width},1600`]
  const dom = execFileSync(chromium!, [...flags, "--dump-dom", `file://${file}`], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    timeout: 60_000
  })
  const screenshots = process.env.BULWARK_SCREENSHOTS
  if (screenshots !== undefined && screenshots !== "") {
    execFileSync(chromium!, [...flags, `--screenshot=${join(screenshots, `${name}-${width}.png`)}`, `file://${file}`], {
      stdio: "ignore",
      timeout: 60_000
    })
  }
  const json = /<script type="application\/json" id="render-check">([\s\S]*?)<\/script>/.exec(dom)?.[1]
  if (json === undefined) throw new Error(`Chromium rendered ${name} without running the check:\n${dom.slice(0, 500)}`)
  return JSON.parse(json) as Rendered
}

const catalogSyncPage = (dir: string, name: string, args: ReadonlyArray<string>): string => {
  const file = join(dir, `${name}.report.html`)
  execFileSync(process.execPath, [catalogSync, ...args, "--report", file], { stdio: "ignore", timeout: 120_000 })
  return readFileSync(file, "utf8")
}

describe.skipIf(missing !== undefined)("the HTML reports, rendered in headless Chromium", () => {
  it("the check itself sees a clipped label, overlapping labels and a text block that overflows", () => {
    const dir = mkdtempSync(join(tmpdir(), "bulwark-report-check-"))
    try {
      // What the simulation's page did before: "10 min" centred on the right edge, a wide unwrapped report.
      const broken = `<!doctype html><html><body style="max-width:960px;margin:auto">
<svg viewBox="0 0 900 240" width="100%"><text x="895" y="230" text-anchor="middle" font-size="11">10 min</text>
<text x="100" y="230" font-size="11">2 s</text><text x="104" y="230" font-size="11">2 s!</text></svg>
<pre style="overflow-x:auto">${"x".repeat(400)}</pre></body></html>`
      const page = render(dir, "broken", broken, 800)
      expect(page.problems).toEqual([
        "a text block overflows its box by " + page.problems[0]!.replace(/^\D+(\d+) px$/, "$1") + " px",
        "the label '10 min' sticks out of its chart",
        "the labels '2 s' and '2 s!' overlap"
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it.live(
    "the simulation's page, with failures and breaker openings, at 1400 and 800 px",
    () =>
      Effect.gen(function*() {
        const report = yield* Simulation.run({
          seed: 7,
          sandbox: { preset: "scaling-up" },
          circuitBreaker: true,
          traffic: { rate: 20, duration: "10 minutes" }
        })
        const html = Simulation.toHtml(report)
        expect(html).not.toMatch(/[▁▂▃▄▅▆▇█]/)
        expect(html).toContain("simulated    10 min\n")
        const dir = mkdtempSync(join(tmpdir(), "bulwark-report-check-"))
        try {
          for (const width of [1400, 800]) {
            const page = render(dir, "simulation", html, width)
            expect(page.problems, `at ${width} px`).toEqual([])
            expect(page.charts).toBe(4)
            expect(page.captions.some((caption) => caption.startsWith("Failed calls"))).toBe(true)
          }
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
      }),
    120_000
  )

  it.skipIf(!existsSync(catalogSync))(
    "catalog-sync's page, with and without Retry-After waits, at 1400 and 800 px",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "bulwark-report-check-"))
      try {
        const pages = {
          realistic: catalogSyncPage(dir, "realistic", ["--items", "120", "--preset", "realistic", "--seed", "7"]),
          none: catalogSyncPage(dir, "none", ["--items", "40", "--preset", "none"])
        }
        for (const [name, html] of Object.entries(pages)) {
          for (const width of [1400, 800]) {
            const page = render(dir, `catalog-sync-${name}`, html, width)
            expect(page.problems, `${name} at ${width} px`).toEqual([])
            expect(page.charts).toBe(2)
          }
        }
        // Nothing waited: the panel says so rather than drawing a flat line on a made-up axis.
        expect(render(dir, "catalog-sync-none", pages.none, 1400).empty).toEqual(["no call waited for a Retry-After"])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    120_000
  )
})
