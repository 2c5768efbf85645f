import DistillIO

/// CIFAR-10's binary batches (`CIFAR.load10`): `data_batch_1.bin` ...
/// `data_batch_5.bin` and `test_batch.bin`, in the folder or in its
/// `cifar-10-batches-bin` subfolder (the archive's). 32x32 RGB bytes, scale 1/255;
/// class names from `batches.meta.txt` when present.
public struct CIFAR10Source: DatasetSource {
    public static let format = "CIFAR-10 binary"
    public static let layout = "data_batch_1.bin ... data_batch_5.bin and test_batch.bin, or a cifar-10-batches-bin folder of them"

    public let path: String

    public init(path: String) { self.path = path }

    public static func recognises(_ path: String) -> Bool {
        (try? DatasetFormat.detect(path))?.format == .cifar10
    }

    public func load() throws -> Dataset {
        let folder = try DatasetFormat.detect(path).path
        return Dataset(try CIFAR.load10(folder), location: path, format: Self.format, numbered: true)
    }
}
