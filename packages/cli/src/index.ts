/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./Cli.js"
/** @since 0.1.0 */
export * as ExitCode from "./ExitCode.js"
/** @since 0.1.0 */
export * as Demo from "./demo/Demo.js"
/** @since 0.1.0 */
export * as DemoTable from "./demo/Table.js"
/** @since 0.2.0 */
export * as Counterfactual from "./demo/Counterfactual.js"
