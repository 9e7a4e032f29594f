/// Whether the four bytes of `magic` start a redo-log record: "TVR2", or "TVRR" of the earlier
/// format (checksum over the head, then the payload). For tests that read `redo.log` raw.
public func isRedoRecordMagic(_ magic: ArraySlice<UInt8>) -> Bool {
    magic.elementsEqual([0x54, 0x56, 0x52, 0x32]) || magic.elementsEqual([0x54, 0x56, 0x52, 0x52])
}
