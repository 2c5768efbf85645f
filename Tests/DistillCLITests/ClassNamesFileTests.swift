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
}
