import Dispatch

/// Decodes many PNG files of one shape in parallel into one sample array.
enum PNGBatchDecoder {
    /// Decodes `paths` in order into one array of `paths.count` images, HWC (see
    /// `PNGDecoder` for the conversions). The first file sets the shape; every other
    /// file must have the same height, width, output channels and bit depth.
    ///
    /// Files are decoded concurrently (`DispatchQueue.concurrentPerform`, one
    /// iteration per file, as many threads as Dispatch chooses). When several files
    /// fail, the error reported is the first failing file in `paths` order, so the
    /// error does not depend on thread timing.
    /// - Precondition: `paths` is not empty.
    static func decode(_ paths: [String]) throws(ImageDatasetError) -> (samples: ImageSamples, shape: StoredImageShape) {
        precondition(!paths.isEmpty, "no PNG files to decode")
        let first = try RawPNG(DatasetFiles.read(paths[0]), name: paths[0])
        let shape = first.shape
        let perImage = shape.height * shape.width * shape.channels
        let (total, overflow) = perImage.multipliedReportingOverflow(by: paths.count)
        let bytesPerSample = shape.bitDepth / 8
        guard !overflow, total <= (1 << 40) / bytesPerSample else {
            throw ImageDatasetError(path: paths[0], kind: .unreadable(
                "\(paths.count) images of \(shape) exceed 1 TiB of samples"))
        }
        let failures = FailureSlots(count: paths.count)
        defer { failures.release() }

        func fill(_ destination: UnsafeMutableRawPointer) {
            let base = SendablePointer(destination)
            first.store(into: destination)
            DispatchQueue.concurrentPerform(iterations: paths.count - 1) { iteration in
                let index = iteration + 1
                do throws(ImageDatasetError) {
                    let image = try RawPNG(DatasetFiles.read(paths[index]), name: paths[index])
                    guard image.shape == shape else {
                        throw ImageDatasetError(path: paths[index], kind: .shapeMismatch(
                            expected: shape, found: image.shape, firstPath: paths[0]))
                    }
                    image.store(into: base.pointer + index * perImage * bytesPerSample)
                } catch {
                    failures.record(error, at: index)
                }
            }
        }

        let samples: ImageSamples
        if shape.bitDepth == 8 {
            samples = .uint8([UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
                if let base = buffer.baseAddress { fill(UnsafeMutableRawPointer(base)) }
                initialized = total  // trivial values; the array is discarded if any file failed
            })
        } else {
            samples = .uint16([UInt16](unsafeUninitializedCapacity: total) { buffer, initialized in
                if let base = buffer.baseAddress { fill(UnsafeMutableRawPointer(base)) }
                initialized = total
            })
        }
        if let failure = failures.first() { throw failure }
        return (samples, shape)
    }
}

/// A raw pointer handed to concurrent iterations that write disjoint ranges.
private struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}

/// One optional error per file, written by concurrent iterations at their own index.
private final class FailureSlots: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<ImageDatasetError?>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    func record(_ error: ImageDatasetError, at index: Int) { slots[index] = error }

    /// The error of the lowest index, if any.
    func first() -> ImageDatasetError? { slots.lazy.compactMap { $0 }.first }

    func release() {
        slots.deinitialize()
        slots.deallocate()
    }
}
