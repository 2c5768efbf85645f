import ArgumentParser

// Every option of `distill` that takes one of a fixed set of words ends its
// help as ArgumentParser does for such an option with a default:
// "(values: a, b; default: a)" ("(values: a, b)" without one). An option left
// unset takes a default that depends on other options (`--model`, the set), so
// its help says the values itself and reads them with `choice`, which lists
// none of ArgumentParser's own: one form, not "(default: a) (values: a, b)".

/// The words `T` takes, in declaration order.
func choices<T: CaseIterable & RawRepresentable>(_ type: T.Type) -> [String] where T.RawValue == String {
    T.allCases.map(\.rawValue)
}

/// "(values: a, b)", or "(values: a, b; default: d)" with `defaults`.
func choiceText(_ values: [String], defaults: String? = nil) -> String {
    "(values: \(values.joined(separator: ", "))" + (defaults.map { "; default: \($0)" } ?? "") + ")"
}

/// "(values: a, b; default: d)" for `T`'s words.
func choiceText<T: CaseIterable & RawRepresentable>(_ type: T.Type, default value: T? = nil) -> String where T.RawValue == String {
    choiceText(choices(type), defaults: value?.rawValue)
}

/// The word an option value names, for an option whose help lists the words
/// itself (`choiceText`); throws `ChoiceError` (ArgumentParser's message then
/// ends ": one of a, b or c") for any other text.
func choice<T: CaseIterable & RawRepresentable>(_ text: String) throws -> T where T.RawValue == String {
    guard let value = T(rawValue: text) else { throw ChoiceError(values: choices(T.self)) }
    return value
}

/// An option value that is none of the words the option takes.
struct ChoiceError: Error, CustomStringConvertible {
    /// The words the option takes.
    let values: [String]
    var description: String { "one of " + ValueErrorText.alternatives(values) }
}
