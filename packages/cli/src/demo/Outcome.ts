/**
 * The outcome of one demo request, and what was measured.
 *
 * @since 0.1.0
 */

/**
 * - `Ok`: the response is exactly what the app served (`note` says what was expected to differ,
 *   e.g. trailers a `HttpResponse` cannot carry).
 * - `ExpectedError`: the endpoint fails by design (the app dies mid-body) and the client saw a
 *   failed or truncated response, as it should.
 * - `Skipped`: the agent cannot deliver this traffic by design (`why`).
 * - `Fail`: anything else.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Ok"; readonly note?: string }
  | { readonly _tag: "ExpectedError"; readonly note: string }
  | { readonly _tag: "Skipped"; readonly why: string }
  | { readonly _tag: "Fail"; readonly why: string }

/**
 * What a driver measured; `judge` turns it into an outcome once the response variant is known.
 *
 * @since 0.1.0
 * @category models
 */
export interface Measured {
  readonly firstByteMs: number | undefined
  readonly totalMs: number
  readonly bytes: number
  readonly judge: (responseVariant: string | undefined) => Outcome
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const ok = (note?: string): Outcome => (note === undefined ? { _tag: "Ok" } : { _tag: "Ok", note })

/**
 * @since 0.1.0
 * @category constructors
 */
export const fail = (why: string): Outcome => ({ _tag: "Fail", why })

/**
 * @since 0.1.0
 * @category constructors
 */
export const expectedError = (note: string): Outcome => ({ _tag: "ExpectedError", note })

/**
 * @since 0.1.0
 * @category constructors
 */
export const skipped = (why: string): Outcome => ({ _tag: "Skipped", why })

/**
 * The outcome as the table shows it.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (outcome: Outcome): string => {
  switch (outcome._tag) {
    case "Ok":
      return outcome.note === undefined ? "ok" : `ok (${outcome.note})`
    case "ExpectedError":
      return `expected-error (${outcome.note})`
    case "Skipped":
      return `skipped (${outcome.why})`
    case "Fail":
      return `FAIL (${outcome.why})`
  }
}

/**
 * True unless the outcome is `Fail`.
 *
 * @since 0.1.0
 * @category utils
 */
export const isGood = (outcome: Outcome): boolean => outcome._tag !== "Fail"
