import ArgumentParser
import Foundation

/// A mistyped option said first: ArgumentParser runs a command's `validate()`
/// before it looks for options it does not know, so `distill eval --distiled
/// out` was refused for the missing `--distilled` instead of for the typo.
enum UnknownOptions {
    /// "unknown option '--distiled'; did you mean '--distilled'?" for the first
    /// `--name` (or `--name=value`) in `arguments` that the subcommand they name
    /// (`run` when the first is not a subcommand) does not take; nil when every
    /// one is known, or when ArgumentParser's description of the commands cannot
    /// be read. Arguments after `--` are values, not options.
    static func refusal(_ arguments: [String]) -> String? {
        guard let commands = longNames() else { return nil }
        var words = arguments[...]
        let subcommand = words.first.flatMap { commands[$0] != nil ? $0 : nil } ?? "run"
        if words.first == subcommand { words = words.dropFirst() }
        guard let known = commands[subcommand] else { return nil }
        for word in words {
            if word == "--" { break }
            guard word.hasPrefix("--") else { continue }
            let name = String(word.dropFirst(2).prefix { $0 != "=" })
            guard !known.contains(name) else { continue }
            let suggestion = DistillCommand.closestName(to: name, among: known.sorted()).map { "; did you mean '--\($0)'?" } ?? ""
            return "unknown option '--\(name)'\(suggestion)"
        }
        return nil
    }

    /// The long option names of each subcommand (with ArgumentParser's own
    /// --help and --version), from its JSON description of the commands
    /// (`--experimental-dump-help`).
    static func longNames() -> [String: Set<String>]? {
        let dump: String
        do {
            _ = try DistillCommand.parseAsRoot(["--experimental-dump-help"])
            return nil
        } catch {
            dump = DistillCommand.message(for: error)
        }
        guard let root = try? JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any],
              let top = root["command"] as? [String: Any] else { return nil }
        var names: [String: Set<String>] = [:]
        for command in top["subcommands"] as? [[String: Any]] ?? [] {
            guard let name = command["commandName"] as? String else { continue }
            let long = (command["arguments"] as? [[String: Any]] ?? []).flatMap { argument in
                (argument["names"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String == "long" ? $0["name"] as? String : nil }
            }
            names[name] = Set(long + ["help", "version"])
        }
        return names
    }
}
