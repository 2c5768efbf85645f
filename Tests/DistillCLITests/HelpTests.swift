import DistillRun
import ArgumentParser
import Foundation
import Testing
import _TestSupport
@testable import DistillCLI

/// The help of every command: it renders, it has an abstract and examples,
/// and every option is described in a sentence. And README's commands are
/// ones the tool accepts.
@Suite struct HelpTests {
    static let commands: [any ParsableCommand.Type] = [DistillCommand.self] + DistillCommand.configuration.subcommands

    /// The example command lines of a command's discussion (the indented lines after "Examples:").
    static func examples(_ command: any ParsableCommand.Type) -> [String] {
        let discussion = command.configuration.discussion
        guard let range = discussion.range(of: "Examples:") else { return [] }
        return discussion[range.upperBound...].split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("distill") }
    }

    @Test(arguments: commands.indices)
    func helpRendersWithAnAbstractAndExamples(index: Int) throws {
        let command = Self.commands[index]
        let help = DistillCommand.helpMessage(for: command, columns: 80)
        #expect(!command.configuration.abstract.isEmpty)
        #expect(help.contains("OVERVIEW:") && help.contains("USAGE:") && help.contains("OPTIONS:"))
        let examples = Self.examples(command)
        #expect((2...4).contains(examples.count), "\(command): \(examples.count) examples")
        for example in examples {
            // Whole on one line of an 80-column terminal, comment included.
            #expect(help.contains(example), "the help of \(command) lacks or wraps \(example)")
            let commandLine = example.components(separatedBy: "  #")[0].trimmingCharacters(in: .whitespaces)
            try expectAccepted(commandLine)
        }
    }

    @Test func everyOptionIsDescribedInASentence() throws {
        // swift-argument-parser's own description of the commands, as JSON.
        let dump: String
        do {
            _ = try DistillCommand.parseAsRoot(["--experimental-dump-help"])
            Issue.record("--experimental-dump-help did not exit")
            return
        } catch {
            dump = DistillCommand.message(for: error)
        }
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
        var commands = [try #require(root["command"] as? [String: Any])]
        var checked = 0
        while let command = commands.popLast() {
            let name = command["commandName"] as? String ?? "?"
            commands += command["subcommands"] as? [[String: Any]] ?? []
            if name == "help" { continue }  // ArgumentParser's own `distill help`
            for argument in command["arguments"] as? [[String: Any]] ?? [] {
                let names = (argument["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                // ArgumentParser's own --help and --version.
                if names.contains("help") || names.contains("version") { continue }
                let abstract = argument["abstract"] as? String ?? ""
                // Values and a default our text gives follow the sentence as ArgumentParser's own do:
                // ". (values: a, b; default: a)", ". (default: 2)" (`HelpDefaultsStyleTests`).
                let end = abstract.range(of: ". (values: ", options: .backwards) ?? abstract.range(of: ". (default: ", options: .backwards)
                let text = end.map { String(abstract[..<$0.lowerBound]) + "." } ?? abstract
                #expect(text.first?.isUppercase == true && text.hasSuffix("."),
                        "\(name) --\(names.first ?? "?"): \"\(abstract)\" is not a sentence")
                #expect(!abstract.contains("Default:") && !abstract.contains("Defaults:"),
                        "\(name) --\(names.first ?? "?"): \"\(abstract)\" says its default unlike ArgumentParser's \"(default: 2)\"")
                if abstract.contains("(default: ") {
                    #expect(abstract.hasSuffix(")") && (abstract.contains(". (default: ") || abstract.contains(". (values: ")),
                            "\(name) --\(names.first ?? "?"): \"\(abstract)\" does not end with its default as \". (default: 2)\"")
                }
                checked += 1
            }
        }
        #expect(checked > 20)
    }

    /// The `distill ...` command lines of README, parsed as the
    /// tool parses its arguments.
    @Test(arguments: ["README.md"])
    func readmeCommandsAreAccepted(file: String) throws {
        let text = try String(contentsOfFile: TestSupport.packageRoot() + "/" + file, encoding: .utf8)
        let commands = Self.commandLines(inCodeBlocksOf: text)
        #expect(commands.count >= 3, "\(file): found \(commands)")
        for command in commands { try expectAccepted(command) }
    }

    /// Lines in code blocks (fenced, or indented by 4 spaces) that run
    /// `distill` or `swift run -c release distill`; `;` separates commands and
    /// `#` starts a comment.
    static func commandLines(inCodeBlocksOf markdown: String) -> [String] {
        var commands: [String] = []
        var fenced = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") { fenced.toggle(); continue }
            guard fenced || line.hasPrefix("    ") else { continue }
            let code = line.components(separatedBy: " #")[0]
            for part in code.split(separator: ";") {
                let command = part.trimmingCharacters(in: .whitespaces)
                if command == "distill" || command.hasPrefix("distill ") || command.hasPrefix("swift run -c release distill") {
                    commands.append(command)
                }
            }
        }
        return commands
    }

    @Test func commandLinesAreFoundInCodeBlocks() {
        let markdown = """
            Run `distill --nope` in text (not a command).

                swift run -c release distill     # the default run
                distill run --steps 5; distill --help

            ```
            distill sweep --images-per-class 1,2
            ```
            """
        #expect(Self.commandLines(inCodeBlocksOf: markdown)
                == ["swift run -c release distill", "distill run --steps 5", "distill --help", "distill sweep --images-per-class 1,2"])
        #expect(Self.words("distill run --data 'a b' --out \"c d\" x\\ y") == ["distill", "run", "--data", "a b", "--out", "c d", "x y"])
    }

    /// The words of a shell command line: spaces separate, quotes and backslashes group.
    static func words(_ line: String) -> [String] {
        var words: [String] = [], current = "", inWord = false
        var quote: Character?, escaping = false
        for c in line {
            if escaping { current.append(c); escaping = false; continue }
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
                continue
            }
            switch c {
            case "\\": escaping = true; inWord = true
            case "'", "\"": quote = c; inWord = true
            case " ", "\t":
                if inWord { words.append(current); current = ""; inWord = false }
            default: current.append(c); inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}

/// Parses `commandLine` (starting `distill` or `swift run -c release distill`)
/// as `distill` would; `--help` counts as accepted.
private func expectAccepted(_ commandLine: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    // The command's own words: up to a redirection or a pipe.
    var words = Array(HelpTests.words(commandLine).prefix { ![">", ">>", "2>", "|", "&&"].contains($0) })
    if words.starts(with: ["swift", "run", "-c", "release"]) { words.removeFirst(4) }
    #expect(words.first == "distill", sourceLocation: sourceLocation)
    let arguments = Array(words.dropFirst())
    do {
        _ = try DistillCommand.parseAsRoot(arguments)
    } catch {
        #expect(DistillCommand.exitCode(for: error) == .success,
                "`\(commandLine)` is rejected: \(DistillCommand.message(for: error))", sourceLocation: sourceLocation)
    }
}
