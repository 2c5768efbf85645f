import Foundation
import Testing
@testable import DistillCLI

/// A --class-names file that is missing or a folder is one line naming it
/// ("cannot read the class names (The operation could not be completed. The
/// file doesn't exist.)" was shown).
@Suite struct ClassNamesFileTests {
    @Test func aMissingFileIsNamed() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let missing = scratch.path + "/names.txt"
        #expect(throws: CLIError.self) { try ClassNames.load(missing, classes: 3) }
        do { _ = try ClassNames.load(missing, classes: 3) } catch {
            #expect(error.description == "error: \(missing): no such file; --class-names expects a text file with one class name a line")
        }
        do { _ = try ClassNames.load(scratch.path, classes: 3) } catch {
            #expect(error.description == "error: \(scratch.path): a folder; --class-names expects a text file with one class name a line")
        }
        try "a\nb\nc\n".write(toFile: missing, atomically: true, encoding: .utf8)
        #expect(try ClassNames.load(missing, classes: 3) == ["a", "b", "c"])
    }

    /// A names file holding the dataset's own class names in another order (here
    /// capitalised) is refused, naming the order expected: it captioned the blue
    /// images "Red" in report.html without a word. Other names, or the same in
    /// order, are taken as they are.
    @Test func theDatasetsNamesInAnotherOrderAreRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let file = scratch.path + "/names.txt"
        try "Red\nGreen\nBlue\n".write(toFile: file, atomically: true, encoding: .utf8)
        let options = try DisplayOptions.parse(["--class-names", file])
        #expect { try options.names(classes: 3, datasetNames: ["blue", "green", "red"]) } throws: { error in
            "\(error)" == "error: \(file): the dataset's class names in another order: expected them in class order (blue, green, red), found Red, Green, Blue; put the lines in that order, or leave --class-names out to use the dataset's names"
        }
        #expect(try options.names(classes: 3, datasetNames: ["sky", "grass", "fire"]) == ["Red", "Green", "Blue"])
        #expect(try options.names(classes: 3, datasetNames: ["red", "green", "blue"]) == ["Red", "Green", "Blue"])
        #expect(try options.names(classes: 3) == ["Red", "Green", "Blue"])
    }
}
