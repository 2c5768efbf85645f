import Foundation
import Testing

/// A folder option naming a folder that is not there: one line naming the folder
/// and what was expected, not Foundation's text about the first file read in it
/// ("…/checkpoint.json: cannot read the checkpoint (The operation could not be
/// completed. The file doesn’t exist.)", "…/distilled-images-idx3-float: no such file").
@Suite struct MissingFolderTests {
    @Test func resumeNamesAMissingFolderAndOneWithoutACheckpoint() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let missing = scratch.path + "/nonexistent"
        let run = try distillCommand(["run", "--resume", missing])
        #expect(run.status == 1)
        #expect(run.stderr == "error: \(missing): no such folder; expected the --out folder of an earlier run\n")
        let file = scratch.path + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let notFolder = try distillCommand(["run", "--resume", file])
        #expect(notFolder.stderr == "error: \(file): not a folder; expected the --out folder of an earlier run\n")
        let empty = try distillCommand(["run", "--resume", scratch.path])
        #expect(empty.stderr == "error: \(scratch.path): no checkpoint (checkpoint/checkpoint.json); expected the --out folder of an earlier run\n")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func evalNamesAMissingDistilledFolder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let missing = scratch.path + "/nonexistent"
        let eval = try distillCommand(["eval", "--distilled", missing])
        #expect(eval.status == 1)
        #expect(eval.stderr == "error: \(missing): no such folder; expected the folder of a distilled set (the --out folder of a run)\n")
    }
}
