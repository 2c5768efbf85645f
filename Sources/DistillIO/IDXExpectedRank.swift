/// The ranks a reader accepts in an IDX file and what they stand for, for its
/// error: `IDX.read(contentsOf:expecting:)` checks the rank byte of the magic
/// number against them before it reads any dimension, so that a file of the
/// wrong rank is answered "expected rank 1 (labels), found rank 4", never
/// with what its other bytes, read as dimensions, would make of it.
public struct IDXExpectedRank: Sendable, Equatable {
    /// The accepted ranks.
    public let ranks: [Int]
    /// What is expected, as the error line says it: "rank 1 (labels)".
    public let text: String

    public init(_ ranks: [Int], _ text: String) {
        self.ranks = ranks
        self.text = text
    }
}
