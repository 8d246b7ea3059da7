// Prints the closing lines of a CI run from vitest's JSON report (path in argv[2]):
//   test files: F passed, G failed (H could not run)
//   N passed, M failed
// The last line counts tests only; a test file that fails to load has no tests to count, so it is
// reported on the line before (the run's exit status already fails for it).
import { readFileSync } from "node:fs"

const report = JSON.parse(readFileSync(process.argv[2], "utf8"))
const files = report.testResults ?? []
const failedFiles = files.filter((file) => file.status === "failed")
// a file that failed without a single test result never ran: an import error, a syntax error, a hook
const unrunnable = failedFiles.filter((file) => (file.assertionResults ?? []).length === 0).length
const note = unrunnable > 0 ? ` (${unrunnable} could not run)` : ""
console.log(`test files: ${files.length - failedFiles.length} passed, ${failedFiles.length} failed${note}`)
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed`)
