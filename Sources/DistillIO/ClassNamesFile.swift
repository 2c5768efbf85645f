/// A text file naming a dataset's classes: one name per line, in class order
/// (line 1 names class 0). Blank lines are skipped and surrounding whitespace
/// trimmed, as in CIFAR's `batches.meta.txt`; the name count must equal the
/// number of classes.
public enum ClassNamesFile {
    /// The names file an IDX dataset folder may hold (`distill convert` writes it).
    public static let idxFolderName = "class-names.txt"

    /// The names in `path`, or nil when no file exists there.
    /// - Throws: the file is unreadable, not UTF-8, or holds another number of
    ///   names than `classes` (one line naming the file, expected versus found).
    public static func read(_ path: String, classes: Int) throws(ImageDatasetError) -> [String]? {
        guard DatasetFiles.kind(of: path) != .missing else { return nil }
        var files: [String] = []
        return try CIFAR.names(path, classes: classes, files: &files)
    }

    /// The file's bytes for `names`: one name a line, each line ending in a newline.
    /// A name's own line breaks become spaces so that it stays one line.
    public static func encode(_ names: [String]) -> [UInt8] {
        Array(names.map { name in
            String(name.map { $0.isNewline ? " " : $0 })
        }.map { $0 + "\n" }.joined().utf8)
    }
}
