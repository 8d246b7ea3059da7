import { defineConfig } from "vitest/config"

// vitest runs tests as SSR: the source condition must be set there, or packages resolve to dist/.
const conditions = ["@mirrord-effect/source", "module", "node", "development|production"]

export default defineConfig({
  ssr: { resolve: { conditions } },
  resolve: { conditions },
  test: {
    include: ["tests/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    setupFiles: ["./vitest.setup.ts"],
    // the CLI tests run the built bin: build once first
    globalSetup: ["./vitest.globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    sequence: { concurrent: true },
    fakeTimers: { toFake: undefined }
  }
})
