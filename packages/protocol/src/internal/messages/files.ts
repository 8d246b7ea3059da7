/**
 * File operations (`FileRequest` / `FileResponse`) and their structs, wire-format.md §8.6.
 * Variant and field order is the wire order.
 * @internal
 */
import { array, enumOf, lazy, newtype, option, result, seq, struct } from "../wire/codec.js"
import type { Codec } from "../wire/codec.js"
import { bool, i32, i64, path, payload, string, u32, u64, u8, unitValue, usize } from "../wire/primitives.js"
import * as errors from "./errors.js"

// errors.ts imports tcp.ts/outgoing.ts, which may be mid-evaluation when this module loads
const ResponseError = lazy("ResponseError", () => errors.ResponseError)

// ---------------------------------------------------------------------------------------------
// open / read / seek / write / close

export const OpenOptionsInternal = struct("OpenOptionsInternal", {
  read: bool,
  write: bool,
  append: bool,
  truncate: bool,
  create: bool,
  create_new: bool
})

export const OpenFileRequest = struct("OpenFileRequest", { path, open_options: OpenOptionsInternal })
export const OpenRelativeFileRequest = struct("OpenRelativeFileRequest", {
  relative_fd: u64,
  path,
  open_options: OpenOptionsInternal
})
export const OpenFileResponse = struct("OpenFileResponse", { fd: u64 })

export const ReadFileRequest = struct("ReadFileRequest", { remote_fd: u64, buffer_size: u64 })
export const ReadLimitedFileRequest = struct("ReadLimitedFileRequest", {
  remote_fd: u64,
  buffer_size: u64,
  start_from: u64
})
export const ReadFileResponse = struct("ReadFileResponse", { bytes: payload, read_amount: u64 })

export const SeekFromInternal = enumOf("SeekFromInternal", {
  Start: newtype(u64),
  End: newtype(i64),
  Current: newtype(i64)
})
export const SeekFileRequest = struct("SeekFileRequest", { fd: u64, seek_from: SeekFromInternal })
export const SeekFileResponse = struct("SeekFileResponse", { result_offset: u64 })

export const WriteFileRequest = struct("WriteFileRequest", { fd: u64, write_bytes: payload })
export const WriteLimitedFileRequest = struct("WriteLimitedFileRequest", {
  remote_fd: u64,
  start_from: u64,
  write_bytes: payload
})
export const WriteFileResponse = struct("WriteFileResponse", { written_amount: u64 })

export const CloseFileRequest = struct("CloseFileRequest", { fd: u64 })

export const AccessFileRequest = struct("AccessFileRequest", { pathname: path, mode: u8 })
/** A unit struct: zero bytes on the wire, `{}` in canon. */
export const AccessFileResponse = struct("AccessFileResponse", {})

// ---------------------------------------------------------------------------------------------
// stat

export const MetadataInternal = struct("MetadataInternal", {
  device_id: u64,
  inode: u64,
  mode: u32,
  hard_links: u64,
  user_id: u32,
  group_id: u32,
  rdevice_id: u64,
  size: u64,
  access_time: i64,
  modification_time: i64,
  creation_time: i64,
  block_size: u64,
  blocks: u64
})

export const XstatRequest = struct("XstatRequest", { path: option(path), fd: option(u64), follow_symlink: bool })
export const XstatResponse = struct("XstatResponse", { metadata: MetadataInternal })

export const FsMetadataInternal = struct("FsMetadataInternal", {
  filesystem_type: i64,
  block_size: i64,
  blocks: u64,
  blocks_free: u64,
  blocks_available: u64,
  files: u64,
  files_free: u64
})

export const FsMetadataInternalV2 = struct("FsMetadataInternalV2", {
  filesystem_type: i64,
  block_size: i64,
  blocks: u64,
  blocks_free: u64,
  blocks_available: u64,
  files: u64,
  files_free: u64,
  filesystem_id: array(i32, 2),
  name_len: i64,
  fragment_size: i64,
  flags: i64
})

export const XstatFsRequest = struct("XstatFsRequest", { fd: u64 })
export const XstatFsRequestV2 = struct("XstatFsRequestV2", { fd: u64 })
export const XstatFsResponse = struct("XstatFsResponse", { metadata: FsMetadataInternal })
export const XstatFsResponseV2 = struct("XstatFsResponseV2", { metadata: FsMetadataInternalV2 })
export const StatFsRequest = struct("StatFsRequest", { path })
export const StatFsRequestV2 = struct("StatFsRequestV2", { path })

// ---------------------------------------------------------------------------------------------
// directories and links

export const DirEntryInternal = struct("DirEntryInternal", {
  inode: u64,
  position: u64,
  name: string,
  file_type: u8
})

export const FdOpenDirRequest = struct("FdOpenDirRequest", { remote_fd: u64 })
export const OpenDirResponse = struct("OpenDirResponse", { fd: u64 })
export const ReadDirRequest = struct("ReadDirRequest", { remote_fd: u64 })
export const ReadDirResponse = struct("ReadDirResponse", { direntry: option(DirEntryInternal) })
export const ReadDirBatchRequest = struct("ReadDirBatchRequest", { remote_fd: u64, amount: usize })
export const ReadDirBatchResponse = struct("ReadDirBatchResponse", { fd: u64, dir_entries: seq(DirEntryInternal) })
export const CloseDirRequest = struct("CloseDirRequest", { remote_fd: u64 })
export const GetDEnts64Request = struct("GetDEnts64Request", { remote_fd: u64, buffer_size: u64 })
export const GetDEnts64Response = struct("GetDEnts64Response", {
  fd: u64,
  entries: seq(DirEntryInternal),
  result_size: u64
})
export const ReadLinkFileRequest = struct("ReadLinkFileRequest", { path })
export const ReadLinkFileResponse = struct("ReadLinkFileResponse", { path })

export const MakeDirRequest = struct("MakeDirRequest", { pathname: path, mode: u32 })
export const MakeDirAtRequest = struct("MakeDirAtRequest", { dirfd: u64, pathname: path, mode: u32 })
export const RemoveDirRequest = struct("RemoveDirRequest", { pathname: path })
export const UnlinkRequest = struct("UnlinkRequest", { pathname: path })
export const UnlinkAtRequest = struct("UnlinkAtRequest", { dirfd: option(u64), pathname: path, flags: u32 })
export const RenameRequest = struct("RenameRequest", { old_path: path, new_path: path })

// ---------------------------------------------------------------------------------------------
// fd metadata changes

export const FtruncateRequest = struct("FtruncateRequest", { fd: u64, length: i64 })
export const Timespec = struct("Timespec", { tv_sec: i64, tv_nsec: i64 })
export const FutimensRequest = struct("FutimensRequest", { fd: u64, times: option(array(Timespec, 2)) })
export const FchownRequest = struct("FchownRequest", { fd: u64, owner: u32, group: u32 })
export const FchmodRequest = struct("FchmodRequest", { fd: u64, mode: u32 })

// ---------------------------------------------------------------------------------------------
// the two enums

export const FileRequest = enumOf("FileRequest", {
  Open: newtype(OpenFileRequest),
  OpenRelative: newtype(OpenRelativeFileRequest),
  Read: newtype(ReadFileRequest),
  ReadLimited: newtype(ReadLimitedFileRequest),
  Seek: newtype(SeekFileRequest),
  Write: newtype(WriteFileRequest),
  WriteLimited: newtype(WriteLimitedFileRequest),
  Close: newtype(CloseFileRequest),
  Access: newtype(AccessFileRequest),
  Xstat: newtype(XstatRequest),
  XstatFs: newtype(XstatFsRequest),
  FdOpenDir: newtype(FdOpenDirRequest),
  ReadDir: newtype(ReadDirRequest),
  CloseDir: newtype(CloseDirRequest),
  GetDEnts64: newtype(GetDEnts64Request),
  ReadLink: newtype(ReadLinkFileRequest),
  ReadDirBatch: newtype(ReadDirBatchRequest),
  MakeDir: newtype(MakeDirRequest),
  MakeDirAt: newtype(MakeDirAtRequest),
  RemoveDir: newtype(RemoveDirRequest),
  Unlink: newtype(UnlinkRequest),
  UnlinkAt: newtype(UnlinkAtRequest),
  StatFs: newtype(StatFsRequest),
  XstatFsV2: newtype(XstatFsRequestV2),
  StatFsV2: newtype(StatFsRequestV2),
  Rename: newtype(RenameRequest),
  Ftruncate: newtype(FtruncateRequest),
  Futimens: newtype(FutimensRequest),
  Fchown: newtype(FchownRequest),
  Fchmod: newtype(FchmodRequest)
})

/** `RemoteResult<T>` = `Result<T, ResponseError>` */
const remote = <A>(ok: Codec<A>) => result(ok, ResponseError)
/** `RemoteResult<()>`: `Ok` carries no bytes, `null` in canon */
const remoteUnit = remote(unitValue)

export const FileResponse = enumOf("FileResponse", {
  Open: newtype(remote(OpenFileResponse)),
  Read: newtype(remote(ReadFileResponse)),
  ReadLimited: newtype(remote(ReadFileResponse)),
  Write: newtype(remote(WriteFileResponse)),
  WriteLimited: newtype(remote(WriteFileResponse)),
  Seek: newtype(remote(SeekFileResponse)),
  Access: newtype(remote(AccessFileResponse)),
  Xstat: newtype(remote(XstatResponse)),
  XstatFs: newtype(remote(XstatFsResponse)),
  ReadDir: newtype(remote(ReadDirResponse)),
  OpenDir: newtype(remote(OpenDirResponse)),
  GetDEnts64: newtype(remote(GetDEnts64Response)),
  ReadLink: newtype(remote(ReadLinkFileResponse)),
  ReadDirBatch: newtype(remote(ReadDirBatchResponse)),
  MakeDir: newtype(remoteUnit),
  RemoveDir: newtype(remoteUnit),
  Unlink: newtype(remoteUnit),
  XstatFsV2: newtype(remote(XstatFsResponseV2)),
  Rename: newtype(remoteUnit),
  Ftruncate: newtype(remoteUnit),
  Futimens: newtype(remoteUnit),
  Fchown: newtype(remoteUnit),
  Fchmod: newtype(remoteUnit)
})
