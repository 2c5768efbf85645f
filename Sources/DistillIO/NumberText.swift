#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every number-to-text conversion of Distill's outputs (console, CSV, JSON,
/// HTML, SVG) in one place. Each function is total: it returns text for every
/// Double (and Float, through the exact conversion to Double), including NaN,
/// ±infinity, ±0, subnormals and ±1e308, and never converts to an integer
/// type that could trap.
///
/// Non-finite values are written `nan`, `inf` and `-inf` for people (the
/// spelling of Swift, C's printf and numpy) and as documented for each
/// machine format.
public enum NumberText {
    /// Fixed-point magnitudes below this are formatted digit by digit; larger
    /// ones (or ones whose scaled value would be) switch to `scientific`.
    static let fixedLimit = 1e15

    /// `x` with `digits` digits after the point, rounded half away from zero,
    /// like C's `%.*f`: `fixed(3.14159, digits: 2) == "3.14"`. A value that
    /// rounds to zero has no minus sign (`-0.001` → `"0.00"`, `-0.0` → `"0"`).
    /// Magnitudes of 1e15 and above (whose digits a Double no longer holds
    /// exactly) are written as `scientific(x, digits: digits)`, e.g.
    /// `9.2234e+18`. `digits` is clamped to 0...17.
    public static func fixed(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return nonFinite(x) }
        let digits = min(max(digits, 0), 17)
        let scale = power10(digits)
        let scaled = (x.magnitude * scale).rounded(.toNearestOrAwayFromZero)
        guard x.magnitude < fixedLimit, scaled < 9e18 else { return scientific(x, digits: max(digits, 1)) }
        let whole = UInt64(scaled)  // < 9e18: exact and in range
        var text = String(whole)
        if digits > 0 {
            if text.count <= digits { text = String(repeating: "0", count: digits + 1 - text.count) + text }
            text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
        }
        return (x < 0 && whole != 0 ? "-" : "") + text
    }

    /// `x` as `m.mme±XX` with `digits` digits after the point of the
    /// mantissa (1 <= |m| < 10) and at least two exponent digits:
    /// `scientific(3.14e-7) == "3.14e-07"`, `scientific(1e308) == "1.00e+308"`,
    /// `scientific(5e-324) == "4.94e-324"`. Zero is `"0"` (either sign).
    /// `digits` is clamped to 0...17.
    public static func scientific(_ x: Double, digits: Int = 2) -> String {
        guard x.isFinite else { return nonFinite(x) }
        guard x != 0 else { return "0" }
        let digits = min(max(digits, 0), 17)
        var exponent = Int(log10(x.magnitude).rounded(.down))  // in -324...308: no trap
        var mantissa = scaled(x.magnitude, byPowerOf10: -exponent)
        // Rounding may carry into a new digit (9.999 → 10.00), and log10 may be off by one at the edges.
        if mantissa < 1 { mantissa *= 10; exponent -= 1 }
        let rounded = (mantissa * power10(digits)).rounded(.toNearestOrAwayFromZero) / power10(digits)
        if rounded >= 10 { mantissa /= 10; exponent += 1 }
        let e = exponent.magnitude
        return (x < 0 ? "-" : "") + fixed(mantissa, digits: digits) + "e" + (exponent < 0 ? "-" : "+")
            + (e < 10 ? "0" : "") + String(e)
    }

    /// The shortest text that reads back as exactly `x` (Swift's
    /// `description`: `0.1`, `1e-05`, `5e-324`, `-0.0`), and `nan`, `inf`,
    /// `-inf`. For CSV files, which numpy and pandas read back exactly,
    /// non-finite values included.
    public static func shortest(_ x: Double) -> String {
        guard x.isFinite else { return nonFinite(x) }
        return x.description
    }

    /// `shortest` for a Float: the shortest text that reads back as `x` as a Float.
    public static func shortest(_ x: Float) -> String {
        guard x.isFinite else { return nonFinite(Double(x)) }
        return x.description
    }

    /// A JSON number: the shortest round-tripping text, and `null` for NaN
    /// and ±infinity, which JSON cannot hold.
    public static func json(_ x: Double) -> String {
        x.isFinite ? x.description : "null"
    }

    /// An SVG or HTML coordinate or length: `x` rounded to `digits` decimals
    /// (2 by default), clamped to ±1e6 (far beyond any picture, so a point
    /// far off the chart keeps its direction); NaN is `0`.
    public static func coordinate(_ x: Double, digits: Int = 2) -> String {
        guard !x.isNaN else { return "0" }
        let clamped = min(max(x, -1e6), 1e6)
        var text = fixed(clamped, digits: digits)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// `fraction` as a percentage with `digits` decimals: `percent(0.8809) == "88.09%"`.
    public static func percent(_ fraction: Double, digits: Int = 2) -> String {
        fraction.isFinite ? fixed(100 * fraction, digits: digits) + "%" : nonFinite(fraction)
    }

    /// A tick or data label: `fixed` when that shows `significant` significant
    /// digits in at most 8 characters before the point, `scientific` otherwise
    /// (`compact(0.0001234) == "1.23e-04"`, `compact(92.64) == "92.6"`).
    public static func compact(_ x: Double, significant: Int = 3) -> String {
        guard x.isFinite else { return nonFinite(x) }
        guard x != 0 else { return "0" }
        let significant = min(max(significant, 1), 17)
        let exponent = Int(log10(x.magnitude).rounded(.down))
        guard exponent >= -3, exponent < 8 else { return scientific(x, digits: significant - 1) }
        return fixed(x, digits: max(0, significant - 1 - exponent))
    }

    /// Seconds as people read durations: `12 µs` (what would round to `0.0 ms`;
    /// `< 1 µs` under half a microsecond), `21.4 ms`, `512 ms` (under a second),
    /// `4.3 s`, `2m05s`, `1h02m`, or for more than 10,000 hours `1.20e+04 h`;
    /// `0 s` for exactly zero (nothing was timed) and `?` for NaN, negative or infinite.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        guard seconds > 0 else { return "0 s" }
        // Below the rounding to "1.0 s": milliseconds, with a decimal under 100 ms;
        // below the rounding to "0.1 ms", microseconds (a tiny dataset's step said "0.0 ms").
        if seconds < 0.099_95 {
            let milliseconds = fixed(1000 * seconds, digits: 1)
            guard milliseconds == "0.0" else { return milliseconds + " ms" }
            let microseconds = fixed(1e6 * seconds, digits: 0)
            return (microseconds == "0" ? "< 1" : microseconds) + " \u{00B5}s"
        }
        if seconds < 0.95 { return fixed(1000 * seconds, digits: 0) + " ms" }
        if seconds < 59.95 { return fixed(seconds, digits: 1) + " s" }
        let whole = seconds.rounded()
        guard whole < 36e6 else { return scientific(seconds / 3600, digits: 2) + " h" }
        let total = Int(whole)  // < 3.6e7: exact and in range
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if total < 3600 { return "\(total / 60)m\(two(total % 60))s" }
        return "\(total / 3600)h\(two(total / 60 % 60))m"
    }

    /// Seconds as milliseconds with one decimal, at any size (`12.3 ms`,
    /// `1234.5 ms`: step times, compared across runs), except what would read
    /// `0.0 ms`, given in microseconds as `duration` gives it (`12 µs`, `0 s`);
    /// `?` for NaN, negative or infinite.
    public static func milliseconds(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let text = fixed(1000 * seconds, digits: 1)
        return text == "0.0" ? duration(seconds) : text + " ms"
    }

    static func nonFinite(_ x: Double) -> String {
        x.isNaN ? "nan" : x < 0 ? "-inf" : "inf"
    }

    /// 10^k for k in 0...17, exact.
    static func power10(_ k: Int) -> Double {
        var p = 1.0
        for _ in 0..<max(0, k) { p *= 10 }
        return p
    }

    /// `x * 10^k` without overflowing or underflowing the intermediate power
    /// (10^±324 is outside Double's range; its halves are not).
    static func scaled(_ x: Double, byPowerOf10 k: Int) -> Double {
        let half = k / 2
        return x * pow(10, Double(half)) * pow(10, Double(k - half))
    }
}
