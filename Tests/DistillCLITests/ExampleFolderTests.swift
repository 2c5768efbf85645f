import ArgumentParser
import Foundation
import Testing
import _TestSupport
@testable import DistillCLI

/// README's command lines and every command's help examples, pasted in any
/// order, never write into the same folder: a folder holding a run is refused
/// to the next (`distill run` after README's set-up command was).
@Suite struct ExampleFolderTests {
    /// The folder a command line writes into; nil for one that writes none
    /// (eval, check, bench, --help) or continues a run (--resume).
    static func outputFolder(_ commandLine: String) -> String? {
        var words = Array(HelpTests.words(commandLine.components(separatedBy: "  #")[0])
            .prefix { ![">", ">>", "2>", "|", "&&", "#"].contains($0) })
        if words.starts(with: ["swift", "run", "-c", "release"]) { words.removeFirst(4) }
        guard words.first == "distill", let command = try? DistillCommand.parseAsRoot(Array(words.dropFirst())) else { return nil }
        if let run = command as? DistillCommand.Run { return run.resume == nil ? run.outputFolder : nil }
        if let sweep = command as? DistillCommand.Sweep { return sweep.out }
        if let convert = command as? DistillCommand.Convert { return convert.out }
        return nil
    }

    @Test func everyExampleWritesIntoItsOwnFolder() throws {
        let readme = try String(contentsOfFile: TestSupport.packageRoot() + "/README.md", encoding: .utf8)
        var lines = HelpTests.commandLines(inCodeBlocksOf: readme).map { ("README.md", $0) }
        for command in HelpTests.commands {
            lines += HelpTests.examples(command).map { ("\(command._commandName) --help", $0) }
        }
        var writers: [String: [String]] = [:]
        for (source, line) in lines {
            guard let folder = Self.outputFolder(line) else { continue }
            writers[folder, default: []].append("\(source): \(line)")
        }
        #expect(writers.count > 20)
        for (folder, users) in writers.sorted(by: { $0.key < $1.key }) where users.count > 1 {
            Issue.record("\(folder) is written by \(users.count) examples: \(users)")
        }
    }
}
