import Foundation
import Testing

/// Every path option of every command given as the empty string (`--out
/// "$OUTDIR"` with the variable unset) is refused with one line before anything
/// is read or written. `distill run --out ""` used to write a whole run into `/`.
@Suite struct EmptyPathTests {
    static let cases: [(arguments: [String], line: String)] = [
        (["run", "--out", ""], "error: --out is empty; expected a folder name"),
        (["--out", ""], "error: --out is empty; expected a folder name"),
        (["run", "--resume", ""], "error: --resume is empty; expected a folder name"),
        (["run", "--data", ""], "error: --data is empty; expected a folder name"),
        (["run", "--class-names", ""], "error: --class-names is empty; expected a file name"),
        (["sweep", "--out", ""], "error: --out is empty; expected a folder name"),
        (["sweep", "--data", ""], "error: --data is empty; expected a folder name"),
        (["eval", "--distilled", ""], "error: --distilled is empty; expected a folder name"),
        (["eval", "--distilled", "out", "--data", ""], "error: --data is empty; expected a folder name"),
        (["eval", "--baseline", "random-real", "--network", "mlp", "--data", ""], "error: --data is empty; expected a folder name"),
        (["check", "--data", ""], "error: --data is empty; expected a folder name"),
        (["bench", "--data", ""], "error: --data is empty; expected a folder name"),
        (["convert", "--out", ""], "error: --out is empty; expected a folder name"),
        (["convert", "--out", "idx", "--data", ""], "error: --data is empty; expected a folder name"),
    ]

    @Test(arguments: cases.indices)
    func anEmptyPathIsRefusedAndNothingIsWritten(index: Int) throws {
        let (arguments, line) = Self.cases[index]
        let scratch = try ScratchFolder("emptyPath\(index)")
        defer { scratch.cleanUp() }
        let rootBefore = Set(try FileManager.default.contentsOfDirectory(atPath: "/"))
        let result = try distillCommand(arguments, in: scratch.path)
        #expect(result.status == 1, "\(arguments)")
        #expect(result.stderr == line + "\n", "\(arguments)")
        #expect(result.stdout.isEmpty, "\(arguments)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty, "\(arguments) wrote into its directory")
        let written = Set(try FileManager.default.contentsOfDirectory(atPath: "/")).subtracting(rootBefore)
        #expect(written.isEmpty, "\(arguments) wrote \(written) into /")
    }
}
