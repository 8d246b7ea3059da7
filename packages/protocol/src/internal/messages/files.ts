/**
 * File operations (`FileRequest` / `FileResponse`).
 * PLACEHOLDER: being completed from wire-format.md §8.6.
 * @internal
 */
import { enumOf, unit } from "../wire/codec.js"

export const FileRequest = enumOf("FileRequest", { Placeholder: unit })
export const FileResponse = enumOf("FileResponse", { Placeholder: unit })
