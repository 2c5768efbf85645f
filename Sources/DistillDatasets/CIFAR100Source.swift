import DistillIO

/// CIFAR-100's binary files (`CIFAR.load100`): `train.bin` and `test.bin`, in the
/// folder or in its `cifar-100-binary` subfolder. The labels are the fine ones
/// (100 classes) unless `--label-set coarse` (20 superclasses); class names from
/// `fine_label_names.txt` / `coarse_label_names.txt` when present. 32x32 RGB
/// bytes, scale 1/255.
public struct CIFAR100Source: DatasetSource {
    public static let format = "CIFAR-100 binary"
    public static let layout = "train.bin and test.bin, or a cifar-100-binary folder of them"

    public let path: String
    public let labelSet: CIFAR.LabelSet

    public init(path: String) { self.init(path: path, options: DatasetOptions()) }

    public init(path: String, options: DatasetOptions) {
        self.path = path
        labelSet = options.labelSet ?? .fine
    }

    public static func recognises(_ path: String) -> Bool {
        (try? DatasetFormat.detect(path))?.format == .cifar100
    }

    /// Takes a label set; has its own test split.
    public static func check(_ options: DatasetOptions, path: String) throws(DatasetOptionsError) {
        try rejectTestFraction(options, path: path)
    }

    public func load() throws -> Dataset {
        let folder = try DatasetFormat.detect(path).path
        return Dataset(try CIFAR.load100(folder, labelSet: labelSet), location: path, format: Self.format,
                       options: DatasetOptions(labelSet: labelSet), numbered: true)
    }
}
