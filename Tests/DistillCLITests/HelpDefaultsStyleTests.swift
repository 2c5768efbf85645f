import ArgumentParser
import Foundation
import Testing
@testable import DistillCLI

/// Every option's help says its values and its default in one form, at its
/// end: "(values: a, b; default: a)", "(values: a, b)" or "(default: 2)".
@Suite struct HelpDefaultsStyleTests {
    /// Every command, nested ones included.
    static var commands: [any ParsableCommand.Type] {
        var all: [any ParsableCommand.Type] = [], pending: [any ParsableCommand.Type] = [DistillCommand.self]
        while let command = pending.popLast() {
            all.append(command)
            pending += command.configuration.subcommands
        }
        return all
    }

    /// The option entries of a help text rendered without wrapping: each
    /// entry's lines (synopsis, abstract) joined by a space.
    static func entries(_ help: String) -> [String] {
        var entries: [String] = [], current: String?
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("  -") || line.hasPrefix("  <") {
                if let current { entries.append(current) }
                current = trimmed
            } else if trimmed.isEmpty || !line.hasPrefix(" ") {
                if let c = current { entries.append(c) }
                current = nil
            } else if let c = current {
                current = c + " " + trimmed
            }
        }
        if let current { entries.append(current) }
        return entries
    }

    /// The top-level parenthesised groups of `text`, parentheses included.
    static func groups(_ text: String) -> [(text: String, end: String.Index)] {
        var groups: [(String, String.Index)] = [], depth = 0, start = text.startIndex
        for i in text.indices {
            if text[i] == "(" { if depth == 0 { start = i }; depth += 1 }
            if text[i] == ")", depth > 0 {
                depth -= 1
                if depth == 0 { groups.append((String(text[start...i]), text.index(after: i))) }
            }
        }
        return groups
    }

    /// What is wrong with the way an option entry says its values and default; empty when nothing is.
    static func faults(_ entry: String) -> [String] {
        var faults: [String] = []
        let all = groups(entry)
        let said = all.filter { $0.text.contains("default") || $0.text.hasPrefix("(values") }
        if said.count > 1 { faults.append("more than one values/default group") }
        for group in said {
            let body = group.text.dropFirst().dropLast()
            let formed = body.hasPrefix("default: ") && !body.contains("values:")
                || body.hasPrefix("values: ") && (body.range(of: "; default: ").map { !body[..<$0.lowerBound].contains(";") } ?? !body.contains(";"))
            if !formed { faults.append("\(group.text) is not \"(values: a, b; default: a)\", \"(values: a, b)\" or \"(default: a)\"") }
            if group.end != entry.endIndex { faults.append("\(group.text) is not at the end") }
        }
        // A bare number as a parenthesis's first item ("(128; ntk-mlp 1024)", "(2, DC's MLP)"): a default unnamed.
        for group in all where group.text.range(of: #"^\(\d+(\.\d+)?[;,)]"#, options: .regularExpression) != nil {
            faults.append("\(group.text) gives a number without saying it is the default")
        }
        let prose = said.last.map { String(entry[..<entry.index($0.end, offsetBy: -$0.text.count)]) } ?? entry
        for phrase in [#"\bby default\b"#, #"\bthe default\b(?!s)"#, #"\(default "#]
        where prose.lowercased().range(of: phrase, options: .regularExpression) != nil {
            faults.append("says \"\(phrase)\" in its prose")
        }
        if let open = entry.firstIndex(of: "<"), let close = entry[open...].firstIndex(of: ">"),
           entry[open..<close].contains("|"), !entry.contains("(values: "), !entry.contains("(default: ") {
            faults.append("takes \(entry[open...close]) without \"(values: ...)\" or \"(default: ...)\"")
        }
        return faults
    }

    @Test(arguments: commands.indices)
    func everyOptionSaysValuesAndDefaultInOneForm(index: Int) {
        let command = Self.commands[index]
        let help = DistillCommand.helpMessage(for: command, columns: 10_000)
        let entries = Self.entries(help)
        #expect(entries.count >= 2, "\(command)")
        for entry in entries {
            let faults = Self.faults(entry)
            #expect(faults.isEmpty, "\(command._commandName): \(entry): \(faults.joined(separator: "; "))")
        }
    }

    /// The forms a new user found in the help, each caught.
    @Test(arguments: [
        "--init <init>  How the synthetic images start. (default: mean; nngp, ntk: real) (values: noise, real, mean)",
        "--learn-labels <on|off>  Learn the labels. (default: on) (values: on, off)",
        "--images-per-class <images-per-class>  The baseline's images per class (default 1; class-means has exactly 1).",
        "--width <width>  MLP: hidden units per layer (128; ntk-mlp 1024). ConvNet: channels per convolution (128).",
        "--depth <depth>  MLP: hidden ReLU layers before the classifier (2, DC's MLP; counted as run's). ConvNet: blocks (3).",
        "--label-set <fine|coarse>  For CIFAR-100: the fine labels (100 classes, the default) or the coarse ones (20 superclasses).",
        "--model <logistic|ridge>  The inner model to train on the set; by default the one in metrics.json, else logistic.",
        "--seeds <seeds>  How many networks. (values: a, b; default: 5) (more)",
    ])
    func theFormsFoundAreFaults(entry: String) {
        #expect(!Self.faults(entry).isEmpty, "\(entry)")
    }

    @Test(arguments: [
        "--hypergradient <hypergradient>  The hypergradient. (values: implicit, unrolled; default: implicit)",
        "--init <init>  How the synthetic images start. (values: noise, real, mean; default: mean; nngp, ntk: real)",
        "--width <width>  MLP: hidden units per layer. (default: 128; ntk-mlp: 1024)",
        "--network <mlp|convnet>  Train networks. (values: mlp, convnet)",
        "--steps <steps>  How many steps (an outer step is one update). (default: 300)",
    ])
    func theOneFormIsNoFault(entry: String) {
        #expect(Self.faults(entry).isEmpty, "\(entry): \(Self.faults(entry))")
    }
}

/// `--threads` is among the general options, not under DATA (it is not a
/// property of the data), and `convert`, which makes no passes, has none.
@Suite struct ThreadsOptionPlaceTests {
    @Test(arguments: ["run", "sweep", "eval", "check", "bench"])
    func threadsIsAGeneralOption(command: String) throws {
        let type = try #require(DistillCommand.configuration.subcommands.first { $0._commandName == command })
        let help = DistillCommand.helpMessage(for: type, columns: 1000)
        let options = try #require(help.range(of: "\nOPTIONS:\n"))
        let data = try #require(help.range(of: "\nDATA:\n"))
        let threads = try #require(help.range(of: "  --threads <threads>"))
        #expect(threads.lowerBound > options.lowerBound, "\(command)")
        #expect(data.lowerBound < options.lowerBound)
    }

    @Test func convertTakesNoThreads() throws {
        let help = DistillCommand.helpMessage(for: DistillCommand.Convert.self, columns: 1000)
        #expect(!help.contains("--threads"))
        #expect(throws: (any Error).self) { _ = try DistillCommand.Convert.parse(["--out", "x", "--threads", "2"]) }
    }
}
