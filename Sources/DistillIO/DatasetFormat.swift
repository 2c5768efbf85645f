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
    /// 5. PNG train/test: subfolders `train` and `test`, each a class tree (below);
    /// 6. PNG classes: the folder itself is a class tree: more than half of its
    ///    non-hidden subfolders (at least one) hold a `.png` file. A folder with a
    ///    few images somewhere among unrelated subfolders (a home or temporary
    ///    folder) is not a dataset; a tree with an empty class folder still is,
    ///    and loading names that folder.
    /// Detection does not validate the whole dataset: loading does.
    /// - Throws: the folder is missing, not a folder, unreadable, or matches none of
    ///   these (one line saying what was looked for and what was found: `contents(of:)`).
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
            if isClassTree(train) && isClassTree(test) {
                return Detection(format: .pngTrainTest, path: path)
            }
        }
        if isClassTree(path) { return Detection(format: .pngClasses, path: path) }
        throw ImageDatasetError(path: path, kind: .unrecognised(
            "expected IDX files (train-images-idx3-ubyte[.gz] ...), CIFAR-10 batches (data_batch_1.bin ... "
                + "test_batch.bin), CIFAR-100 files (train.bin, test.bin), train/ and test/ folders of class "
                + "folders of .png files, or class folders of .png files; found " + contents(of: path)))
    }

    /// What the folder at `path` holds, for the error when it matches no format:
    /// how many entries of each kind, and the nearest partial match: `.png` files
    /// outside class folders, the subfolders that hold `.png` files, a train/ or
    /// test/ folder without its pair, IDX-named files without a training-images
    /// IDX file, CIFAR files without the batch that identifies them. E.g.
    /// "37 entries (3 files, 34 folders), none of them a .png image or a dataset file".
    public static func contents(of path: String) -> String {
        let names = ((try? DatasetFiles.names(in: path)) ?? []).filter { !$0.hasPrefix(".") }
        guard !names.isEmpty else { return "an empty folder" }
        var files: [String] = [], folders: [String] = []
        for name in names {
            switch DatasetFiles.kind(of: DatasetFiles.join(path, name)) {
            case .folder: folders.append(name)
            default: files.append(name)
            }
        }
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        func listed(_ items: [String]) -> String {
            items.count <= 3 ? items.joined(separator: ", ") : items.prefix(3).joined(separator: ", ") + " and \(items.count - 3) more"
        }
        let counts = names.count == 1
            ? (files.isEmpty ? "1 entry, the folder \(folders[0])" : "1 entry, the file \(files[0])")
            : "\(names.count) entries (\(plural(files.count, "file")), \(plural(folders.count, "folder")))"
        var partial: [String] = []
        let pngFiles = files.filter(DatasetFiles.isPNGName)
        if !pngFiles.isEmpty { partial.append("\(plural(pngFiles.count, ".png file")) directly in it rather than in class folders") }
        let withPNG = folders.filter { holdsPNG(DatasetFiles.join(path, $0)) }
        if !withPNG.isEmpty {
            partial.append("\(withPNG.count) of its \(plural(folders.count, "folder")) hold\(withPNG.count == 1 ? "s" : "") .png files (\(listed(withPNG))), too few for a class-per-folder tree")
        }
        for (split, other) in [("train", "test"), ("test", "train")] where folders.contains(split) {
            let tree = isClassTree(DatasetFiles.join(path, split))
            if tree && !folders.contains(other) {
                partial.append("\(split)/ holds class folders of .png files but there is no \(other)/ folder")
            } else if tree && !isClassTree(DatasetFiles.join(path, other)) {
                partial.append("\(split)/ holds class folders of .png files but \(other)/ does not")
            }
        }
        let idxNamed = files.filter { name in ["train-images", "train-labels", "t10k-images", "t10k-labels"].contains { name.hasPrefix($0) } }
        if let trainImages = idxTrainImages.first(where: files.contains) {
            let bytes = DatasetFiles.prefix(DatasetFiles.join(path, trainImages), count: 4)
            partial.append("\(trainImages) does not start like an IDX file (00 00 type rank) or gzip (1f 8b): its first bytes are "
                           + (bytes.isEmpty ? "none" : bytes.map { hexByte($0) }.joined(separator: " ")))
        } else if !idxNamed.isEmpty {
            partial.append("IDX-named files (\(listed(idxNamed))) but no train-images-idx3-ubyte[.gz]")
        }
        let cifarNamed = files.filter { $0.hasPrefix("data_batch_") || $0 == "batches.meta.txt" || $0.hasPrefix("fine_label") || $0.hasPrefix("coarse_label") }
        if !cifarNamed.isEmpty {
            partial.append("CIFAR files (\(listed(cifarNamed))) but neither data_batch_1.bin nor test_batch.bin")
        }
        if partial.isEmpty {
            return counts + ", none of them a .png image or a dataset file"
        }
        return counts + ": " + partial.joined(separator: "; ")
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    /// Whether the file starts like an IDX file: 00 00 then a type code, or gzip's 1f 8b.
    private static func looksLikeIDX(_ path: String) -> Bool {
        let bytes = DatasetFiles.prefix(path, count: 4)
        guard bytes.count == 4 else { return false }
        if bytes[0] == 0x1F && bytes[1] == 0x8B { return true }
        return bytes[0] == 0 && bytes[1] == 0 && IDXDataType(rawValue: bytes[2]) != nil
    }

    /// Whether `folder` is a class-per-folder PNG tree: more than half of its
    /// non-hidden subfolders, and at least one, hold a `.png` file (a subfolder
    /// that cannot be read counts as one without).
    static func isClassTree(_ folder: String) -> Bool {
        guard let subfolders = try? DatasetFiles.subfolders(of: folder) else { return false }
        let withPNG = subfolders.filter { holdsPNG(DatasetFiles.join(folder, $0)) }.count
        return withPNG >= 1 && 2 * withPNG > subfolders.count
    }

    /// Whether `folder` holds a `.png` file (false when it cannot be read).
    private static func holdsPNG(_ folder: String) -> Bool {
        ((try? DatasetFiles.names(in: folder)) ?? []).contains(where: DatasetFiles.isPNGName)
    }
}
