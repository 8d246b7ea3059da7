import { Canonical, Codec, MessageChannel } from "@mirrord-effect/protocol"
import { Stream } from "effect"

// 02 00 00 50: ClientMessage::TcpSteal(LayerTcpSteal::PortSubscribe(StealType::All(80)))
export const bytes = Codec.encodeClientMessage({
  _tag: "TcpSteal",
  value: { _tag: "PortSubscribe", value: { _tag: "All", value: 80 } }
})
// decode as a 1.7.0 agent would: Complete | Incomplete | Invalid (never throws)
export const decoded = Codec.decoderFor("1.7.0", "ClientMessage").decode(bytes)
export const json = decoded._tag === "Complete" ? Canonical.toCanonical("ClientMessage", decoded.message) : null
// a byte stream cut anywhere → messages (Truncated if it ends inside one)
export const messages = MessageChannel.decodeStream(Stream.make(bytes.subarray(0, 1), bytes.subarray(1)), Codec.decoder("ClientMessage"))
