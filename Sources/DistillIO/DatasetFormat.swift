/// The dataset layouts Distill reads, recognised by layout and content, never by a flag.
public enum DatasetFormat: String, Sendable, Equatable, CaseIterable {
    /// MNIST-named IDX files (`DatasetFolder`).
    case idx
    /// `train/<class>/*.png` and `test/<class>/*.png` (`ImageFolderTree.loadTrainTest`).
    case pngTrainTest
    /// `<class>/*.png`, to be split by the caller (`ImageFolderTree.loadClasses`).
    case pngClasses
    /// CIFAR-10 binary batches (`CIFAR.load10`).
    case cifar10
    /// CIFAR-100 binary files (`CIFAR.load100`).
    case cifar100

    /// What `detect` found: the format and the folder that holds it (the given
    /// folder, or its `cifar-10-batches-bin` / `cifar-100-binary` subfolder, the
    /// names the CIFAR archives unpack to).
    public struct Detection: Sendable, Equatable {
        public let format: DatasetFormat
        public let path: String
    }

    /// The IDX training-images names `DatasetFolder` accepts.
    static let idxTrainImages = ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                                 "train-images.idx3-ubyte", "train-images.idx3-ubyte.gz"]

    /// Says which format the folder at `path` holds. Checked in this order:
    /// 1. IDX: a `train-images` IDX file (any name `DatasetFolder` accepts) whose first
    ///    bytes are an IDX magic number (00 00 type rank) or a gzip header (1f 8b);
    /// 2. CIFAR-10: `data_batch_1.bin` or `test_batch.bin`;
    /// 3. CIFAR-100: `train.bin` or `test.bin`;
    /// 4. either CIFAR layout in a `cifar-10-batches-bin` or `cifar-100-binary` subfolder;
    /// 5. PNG train/test: subfolders `train` and `test`, each with a subfolder holding a `.png` file;
    /// 6. PNG classes: a non-hidden subfolder holding a `.png` file.
    /// Detection does not validate the whole dataset: loading does.
    /// - Throws: the folder is missing, not a folder, unreadable, or matches none of
    ///   these (one line saying what was looked for and what was found).
    public static func detect(_ path: String) throws(ImageDatasetError) -> Detection {
        try DatasetFiles.requireFolder(path)
        let names = try DatasetFiles.names(in: path)
        func file(_ name: String) -> Bool {
            names.contains(name) && DatasetFiles.kind(of: DatasetFiles.join(path, name)) == .file
        }
        if let idx = idxTrainImages.first(where: file), looksLikeIDX(DatasetFiles.join(path, idx)) {
            return Detection(format: .idx, path: path)
        }
        if file(CIFAR.cifar10TrainFiles[0]) || file(CIFAR.cifar10TestFile) {
            return Detection(format: .cifar10, path: path)
        }
        if file(CIFAR.cifar100TrainFile) || file(CIFAR.cifar100TestFile) {
            return Detection(format: .cifar100, path: path)
        }
        for (folder, format) in [("cifar-10-batches-bin", DatasetFormat.cifar10), ("cifar-100-binary", .cifar100)]
        where names.contains(folder) {
            let inner = DatasetFiles.join(path, folder)
            if let found = try? detect(inner), found.format == format { return found }
        }
        let subfolders = try DatasetFiles.subfolders(of: path)
        if subfolders.contains("train") && subfolders.contains("test") {
            let train = DatasetFiles.join(path, "train"), test = DatasetFiles.join(path, "test")
            let trainHolds = try holdsPNGClass(train), testHolds = try holdsPNGClass(test)
            if trainHolds && testHolds {
                return Detection(format: .pngTrainTest, path: path)
            }
        }
        if try holdsPNGClass(path) { return Detection(format: .pngClasses, path: path) }

        let fileCount = names.filter { DatasetFiles.kind(of: DatasetFiles.join(path, $0)) == .file }.count
        throw ImageDatasetError(path: path, kind: .unrecognised(
            "expected IDX files (train-images-idx3-ubyte[.gz] ...), CIFAR-10 batches (data_batch_1.bin ... "
                + "test_batch.bin), CIFAR-100 files (train.bin, test.bin), train/ and test/ folders of class "
                + "folders of .png files, or class folders of .png files; found \(fileCount) file"
                + "\(fileCount == 1 ? "" : "s") and \(subfolders.count) folder\(subfolders.count == 1 ? "" : "s")"
                + " with no .png file one level down"))
    }

    /// Whether the file starts like an IDX file: 00 00 then a type code, or gzip's 1f 8b.
    private static func looksLikeIDX(_ path: String) -> Bool {
        let bytes = DatasetFiles.prefix(path, count: 4)
        guard bytes.count == 4 else { return false }
        if bytes[0] == 0x1F && bytes[1] == 0x8B { return true }
        return bytes[0] == 0 && bytes[1] == 0 && IDXDataType(rawValue: bytes[2]) != nil
    }

    /// Whether some non-hidden subfolder of `folder` holds a `.png` file.
    private static func holdsPNGClass(_ folder: String) throws(ImageDatasetError) -> Bool {
        for name in try DatasetFiles.subfolders(of: folder) {
            let names = try DatasetFiles.names(in: DatasetFiles.join(folder, name))
            if names.contains(where: DatasetFiles.isPNGName) { return true }
        }
        return false
    }
}
