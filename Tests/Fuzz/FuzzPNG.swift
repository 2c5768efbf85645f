// A libFuzzer target for the PNG decoder (PNGDecoder.decode over the CPNGRead C file),
// built by tools/fuzz-png.sh with the sources of DistillIO into one module. Decoding may
// fail with a one-line ImageDatasetError but must never trap, leak or read out of bounds.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let image = try PNGDecoder.decode(bytes, name: "fuzz input")
        precondition(image.samples.count == image.shape.height * image.shape.width * image.shape.channels)
    } catch {
        precondition(!error.description.contains("\n"))
    }
    return 0
}
