import DistillRun
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The names of a dataset's classes, shown in report.html (progress.png has no text).
/// Without a names file a class is named by its index, which for MNIST is
/// its digit ("0" to "9").
enum ClassNames {
    static func defaults(classes: Int) -> [String] {
        (0..<max(0, classes)).map(String.init)
    }

    /// Reads `--class-names FILE`: one name per line, in class order (line 1
    /// names class 0). Surrounding spaces and a final newline are ignored;
    /// Windows line ends are accepted.
    ///
    /// - Throws: `CLIError`, one line naming the file: missing ("no such file"),
    ///   a folder, unreadable, not UTF-8, or not one name per class.
    static func load(_ path: String, classes: Int) throws(CLIError) -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CLIError("\(path): no such file; --class-names expects a text file with one class name a line")
        }
        guard !isFolder.boolValue else {
            throw CLIError("\(path): a folder; --class-names expects a text file with one class name a line")
        }
        guard access(path, R_OK) == 0 else {
            throw CLIError("\(path): cannot read the class names (\(String(cString: strerror(errno)).lowercased()))")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIError("\(path): cannot read the class names (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError("\(path): the class names are not UTF-8 text")
        }
        return try parse(text, classes: classes, file: path)
    }

    /// Refuses `names` (read from `file`) when they are the dataset's own class
    /// names (`datasetNames`, in class order: a PNG tree's sorted folder names,
    /// CIFAR's or class-names.txt's) in another order, compared without regard to
    /// case: such a file would caption each class with another's name (a file
    /// "Red, Green, Blue" for the folders blue, green, red put "Red" under the
    /// blue images, silently).
    ///
    /// - Throws: `CLIError` naming the file, the class order expected and the order found.
    static func refuseReordered(_ names: [String], datasetNames: [String], file: String) throws(CLIError) {
        let lowered = names.map { $0.lowercased() }, dataset = datasetNames.map { $0.lowercased() }
        guard lowered != dataset, lowered.sorted() == dataset.sorted() else { return }
        throw CLIError("\(file): the dataset's class names in another order: expected them in class order (\(datasetNames.joined(separator: ", "))), found \(names.joined(separator: ", ")); put the lines in that order, or leave --class-names out to use the dataset's names")
    }

    /// The names in `text` (the contents of `file`); throws an error naming
    /// the file if a line is empty or there is not one line per class.
    static func parse(_ text: String, classes: Int, file: String) throws(CLIError) -> [String] {
        // "\r\n" is one Character, a newline like "\n".
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        if lines.last == "" { lines.removeLast() }
        if let empty = lines.firstIndex(of: "") {
            throw CLIError("\(file): line \(empty + 1) is empty; expected one class name per line")
        }
        guard lines.count == classes else {
            throw CLIError("\(file): \(lines.count) class name\(lines.count == 1 ? "" : "s") for \(classes) classes; expected one name per line, one line per class")
        }
        return lines
    }
}
