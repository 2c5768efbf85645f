// A libFuzzer target for the IDX reader, built by tools/fuzz.sh together with the
// sources of DistillIO into one module (so no SwiftPM and no other dependency).
//
// Every input goes through `IDX.decode`, raw or gzip (recognised by its first two
// bytes, as for files). Decoding may fail, with an `IDXError`, but must never trap,
// and whatever it accepts must be a consistent array that encodes back to the same
// bytes: exactly the input, for raw input.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let array: IDXArray
    do {
        array = try IDX.decode(bytes, name: "fuzz input")
    } catch {
        _ = error.description  // the message must be buildable for any input
        return 0
    }
    let product = array.shape.reduce(1, *)
    precondition(!array.shape.isEmpty && array.count == product, "shape \(array.shape), \(array.count) elements")
    let encoded = IDX.encode(array)
    if !bytes.starts(with: IDX.gzipMagic) {
        precondition(encoded == bytes, "raw input accepted but does not encode back to itself")
    }
    do {
        let again = try IDX.decode(encoded, name: "re-encoded")
        precondition(IDX.encode(again) == encoded, "re-encoding changed the array")
    } catch {
        preconditionFailure("an accepted array re-encoded is rejected: \(error)")
    }
    _ = array.firstNonFiniteIndex
    return 0
}
