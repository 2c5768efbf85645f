import Testing
@testable import DistillIO

@Suite struct PNGTests {
    /// A deterministic pattern that uses every byte value over a few images.
    func pattern(width: Int, height: Int, channels: Int) -> [UInt8] {
        (0..<width * height * channels).map { UInt8(truncatingIfNeeded: $0 * 37 + $0 / 7) }
    }

    @Test(arguments: [1, 2, 3, 4])
    func roundTripsEveryPixel(channels: Int) throws {
        let folder = try PNGTestFolder()
        defer { folder.remove() }
        let image = try PNGImage(width: 13, height: 7, channels: channels,
                                 pixels: pattern(width: 13, height: 7, channels: channels))
        let path = folder.file("image.png")
        try image.write(to: path)
        let back = try PNGImage.read(contentsOf: path)
        #expect(back.width == 13)
        #expect(back.height == 7)
        #expect(back.channels == channels)
        #expect(back.pixels == image.pixels)
        #expect(back.pixel(x: 12, y: 6) == Array(image.pixels.suffix(channels)))
    }

    @Test func writingIntoAMissingFolderThrowsNamingThePath() throws {
        let folder = try PNGTestFolder()
        defer { folder.remove() }
        let path = folder.file("no-such-folder/grid.png")
        let image = try PNGImage(width: 2, height: 2, channels: 1, pixels: [0, 1, 2, 3])
        do {
            try image.write(to: path)
            Issue.record("writing to \(path) succeeded")
        } catch {
            guard case .output(let output) = error else { Issue.record("unexpected \(error)"); return }
            #expect(output.path == path)
            #expect(error.description.contains(path))
        }
    }

    @Test func readingANonPNGFileThrowsNamingIt() throws {
        let folder = try PNGTestFolder()
        defer { folder.remove() }
        let path = folder.file("not-a.png")
        try OutputFile.write("this is plain text, not a PNG file\n", to: path)
        for candidate in [path, folder.file("missing.png")] {
            do {
                _ = try PNGImage.read(contentsOf: candidate)
                Issue.record("reading \(candidate) succeeded")
            } catch {
                guard case .libpng(let errorPath, _, let message) = error else { Issue.record("unexpected \(error)"); continue }
                #expect(errorPath == candidate)
                #expect(!message.isEmpty)
                #expect(error.description.hasPrefix(candidate + ": "))
            }
        }
    }

    @Test func rejectsImpossibleSizes() {
        #expect(throws: PNGError.self) { try PNGImage(width: 0, height: 3, channels: 1, pixels: []) }
        #expect(throws: PNGError.self) { try PNGImage(width: 3, height: 3, channels: 5, pixels: [UInt8](repeating: 0, count: 45)) }
        #expect(throws: PNGError.self) { try PNGImage(width: 3, height: 3, channels: 1, pixels: [1, 2, 3]) }
        #expect(throws: PNGError.self) { try PNGImage(width: Int.max, height: 2, channels: 3, pixels: []) }
        #expect(throws: PNGError.self) { try PNGImage(width: 1 << 16, height: 1 << 15, channels: 1, pixels: []) }
    }
}
