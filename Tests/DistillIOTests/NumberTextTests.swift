import Foundation
import Testing
import DistillIO

/// The values every formatter must turn into text without trapping.
let awkwardDoubles: [Double] = {
    let special: [Double] = [.nan, -.nan, .signalingNaN, .infinity, -.infinity, 0, -0.0]
    let tiny: [Double] = [.leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, -.leastNormalMagnitude, 1e-300]
    let huge: [Double] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e308, -1e308, 9.2e18, -9.2e18, 9.3e18, 1e15, -1e15,
                          999_999_999_999_999.9, 1e16 + 1, Double(Int.max), Double(Int.min), Double(UInt64.max)]
    let ordinary: [Double] = [0.5, 1.5, 2.5, -0.5, 0.05, 0.0001234, 92.64, 9.995, 99.995, 123456789]
    let floats: [Double] = Float.awkward.map { Double($0) }
    return special + tiny + huge + ordinary + floats
}()

extension Float {
    static let awkward: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                   .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 3.4e38, Float(bitPattern: 1), 0.1]
}

@Suite struct NumberTextTests {
    @Test func everyFormatterIsTotalAndReadsBack() {
        for x in awkwardDoubles {
            for digits in [-3, 0, 1, 2, 4, 17, 40] {
                let fixed = NumberText.fixed(x, digits: digits)
                #expect(!fixed.isEmpty)
                if x.isFinite {
                    let back = Double(fixed)
                    #expect(back != nil, "fixed(\(x), \(digits)) = \(fixed) does not read as a number")
                    if let back {
                        // Within half a unit of the last digit, or (beyond 1e15, in scientific) of the mantissa.
                        let d = Double(min(max(digits, 0), 17))
                        let unit: Double = pow(10, -d), mantissaUnit: Double = pow(10, -max(d, 1))
                        let tolerance: Double = (x.magnitude >= 1e15 ? x.magnitude * 0.51 * mantissaUnit : 0.51 * unit) + x.magnitude * 1e-14
                        // Rounding the largest Doubles up to the shown digits may read back as infinity.
                        #expect((back - x).magnitude <= tolerance || (back.isInfinite && x.magnitude > 1e307), "fixed(\(x), \(digits)) = \(fixed)")
                    }
                    #expect(!fixed.hasPrefix("-") || x < 0)
                } else {
                    #expect(["nan", "inf", "-inf"].contains(fixed))
                }
                let scientific = NumberText.scientific(x, digits: digits)
                if x.isFinite, let back = Double(scientific) {
                    let d = Double(min(max(digits, 0), 17))
                    let unit: Double = pow(10, -d)
                    let tolerance: Double = x.magnitude * (0.51 * unit * 10 + 1e-14) + Double.leastNonzeroMagnitude
                    #expect((back - x).magnitude <= tolerance || (back.isInfinite && x.magnitude > 1e307),
                            "scientific(\(x), \(digits)) = \(scientific)")
                    if x != 0 { #expect(scientific.contains("e")) }
                } else {
                    #expect(!x.isFinite, "scientific(\(x), \(digits)) = \(scientific) does not read as a number")
                }
            }
            let shortest = NumberText.shortest(x)
            if x.isFinite { #expect(Double(shortest) == x, "shortest(\(x)) = \(shortest)") }
            let json = NumberText.json(x)
            #expect(x.isFinite ? Double(json) == x : json == "null")
            let coordinate = NumberText.coordinate(x)
            let c = Double(coordinate)
            #expect(c != nil && c!.magnitude <= 1e6, "coordinate(\(x)) = \(coordinate)")
            #expect(!NumberText.percent(x).isEmpty && !NumberText.compact(x).isEmpty && !NumberText.duration(x).isEmpty)
            if x.isFinite { #expect(Double(NumberText.compact(x)) != nil, "compact(\(x)) = \(NumberText.compact(x))") }
        }
        for x in Float.awkward where x.isFinite {
            #expect(Float(NumberText.shortest(x)) == x)
        }
    }

    @Test func knownValues() {
        #expect(NumberText.fixed(3.14159, digits: 2) == "3.14")
        #expect(NumberText.fixed(-0.001, digits: 2) == "0.00")
        #expect(NumberText.fixed(-0.0, digits: 0) == "0")
        #expect(NumberText.fixed(2.5, digits: 0) == "3")
        #expect(NumberText.fixed(-12.5, digits: 1) == "-12.5")
        #expect(NumberText.fixed(0.05, digits: 3) == "0.050")
        #expect(NumberText.fixed(9.2e18, digits: 4) == "9.2000e+18")
        #expect(NumberText.fixed(.nan, digits: 2) == "nan" && NumberText.fixed(-.infinity, digits: 2) == "-inf")
        #expect(NumberText.scientific(3.14e-7) == "3.14e-07")
        #expect(NumberText.scientific(1e308) == "1.00e+308")
        #expect(NumberText.scientific(-.greatestFiniteMagnitude) == "-1.80e+308")
        #expect(NumberText.scientific(Double.leastNonzeroMagnitude) == "4.94e-324")
        #expect(NumberText.scientific(9.999) == "1.00e+01")
        #expect(NumberText.scientific(0) == "0")
        #expect(NumberText.shortest(0.1) == "0.1" && NumberText.shortest(Double.leastNonzeroMagnitude) == "5e-324")
        #expect(NumberText.coordinate(12.3456) == "12.35" && NumberText.coordinate(4) == "4" && NumberText.coordinate(-1e300) == "-1000000")
        #expect(NumberText.percent(0.8809) == "88.09%")
        #expect(NumberText.compact(0.0373) == "0.0373" && NumberText.compact(92.64) == "92.6" && NumberText.compact(0.0001234) == "1.23e-04")
        #expect(NumberText.duration(4.26) == "4.3 s" && NumberText.duration(125) == "2m05s" && NumberText.duration(3725) == "1h02m")
        #expect(NumberText.duration(59.97) == "1m00s")
        // Under a second, milliseconds (a 2-step run used to say "Done in 0.0 s").
        #expect(NumberText.duration(0.0214) == "21.4 ms" && NumberText.duration(0.09996) == "100 ms")
        // What would read "0.0 ms" (a tiny dataset's step) is given in microseconds; exactly
        // zero (nothing timed) is "0 s", and a positive time never reads as zero.
        #expect(NumberText.duration(0.000_012) == "12 \u{00B5}s" && NumberText.duration(0.000_049_9) == "50 \u{00B5}s")
        #expect(NumberText.duration(0.000_051) == "0.1 ms" && NumberText.duration(0.000_000_3) == "< 1 \u{00B5}s")
        #expect(NumberText.duration(0) == "0 s" && NumberText.duration(-1) == "?")
        #expect(NumberText.milliseconds(0.0123) == "12.3 ms" && NumberText.milliseconds(1.2345) == "1234.5 ms")
        #expect(NumberText.milliseconds(0.000_012) == "12 \u{00B5}s" && NumberText.milliseconds(0) == "0 s" && NumberText.milliseconds(.nan) == "?")
        #expect(NumberText.duration(0.512) == "512 ms" && NumberText.duration(0.9499) == "950 ms" && NumberText.duration(0.95) == "1.0 s")
        #expect(NumberText.duration(1e300) == "2.78e+296 h" && NumberText.duration(.nan) == "?")
    }
}
