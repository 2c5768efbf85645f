/// Text in `LineChart`'s built-in 5 x 7 pixel font (drawn at twice its size),
/// for labelling pictures: digits, letters shown in upper case, and
/// `. % - : + ( ) / , _ =`; any other character is drawn as `?`.
public enum BitmapText {
    /// The height of a line of text in pixels (the glyphs' height).
    public static let height = Font.height

    /// The width of `text` in pixels (0 for an empty string).
    public static func width(of text: String) -> Int { Font.width(of: text) }
}

extension PNGImage {
    /// A copy of the image with `text` drawn in `color`, its top-left corner
    /// at column `left`, row `top`; what falls outside the image is clipped.
    /// Grey images get the colour's mean grey; alpha channels are set opaque.
    public func annotated(with text: String, left: Int, top: Int,
                          color: LineChart.Color = LineChart.Color(0, 0, 0)) -> PNGImage {
        let grey = UInt8((Int(color.red) + Int(color.green) + Int(color.blue)) / 3)
        let value: [UInt8] = switch channels {
        case 1: [grey]
        case 2: [grey, 255]
        case 3: [color.red, color.green, color.blue]
        default: [color.red, color.green, color.blue, 255]
        }
        var pixels = self.pixels
        for (i, character) in text.enumerated() {
            for (row, bits) in Font.glyph(character).enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    let x0 = left + i * Font.advance + column * Font.scale, y0 = top + row * Font.scale
                    for y in y0..<(y0 + Font.scale) where y >= 0 && y < height {
                        for x in x0..<(x0 + Font.scale) where x >= 0 && x < width {
                            let start = (y * width + x) * channels
                            for c in 0..<channels { pixels[start + c] = value[c] }
                        }
                    }
                }
            }
        }
        // The size and pixel count are unchanged, so this cannot fail.
        return (try? PNGImage(width: width, height: height, channels: channels, pixels: pixels)) ?? self
    }
}

extension LineChart {
    /// Round tick values for an axis showing `low...high`: multiples of a
    /// 1-2-5 step giving about 5 intervals, with the range widened to whole
    /// steps, and labels with just enough decimals for the step.
    public static func ticks(low: Double, high: Double) -> (range: ClosedRange<Double>, ticks: [(value: Double, label: String)]) {
        let (axis, ticks) = linearTicks(low: low, high: high, fixed: false)
        return (axis.low...max(axis.low, axis.high), ticks)
    }
}
