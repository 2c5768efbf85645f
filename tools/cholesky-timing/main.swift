// Times CholeskyFactorization (blocked, Double) on a random symmetric positive
// definite matrix at the sizes given, to choose the NNGP/NTK ceiling's subset
// (NeuralKernelCeiling: the largest training subset one factorisation handles in
// under a minute on 2 cores). Usage (sizes default to 4000 8000; threads to 2):
//   swiftc -O -module-name Chol Sources/ImplicitDiff/*.swift tools/cholesky-timing/main.swift -o /tmp/chol
//   /tmp/chol [--threads T] [N ...]
import Foundation
var arguments = Array(CommandLine.arguments.dropFirst())
var threads = 2
if let i = arguments.firstIndex(of: "--threads"), i + 1 < arguments.count, let t = Int(arguments[i + 1]) {
    threads = t
    arguments.removeSubrange(i...(i + 1))
}
let sizes = arguments.isEmpty ? [4000, 8000] : arguments.compactMap { Int($0) }
for n in sizes {
    var a = [Double](repeating: 0, count: n * n)
    var s: UInt64 = 1
    for i in 0..<n { for j in 0...i { s = s &* 6364136223846793005 &+ 1442695040888963407; let v = Double(s >> 11) / Double(1 << 53) * 0.01; a[i*n+j] = v; a[j*n+i] = v }; a[i*n+i] += Double(n) }
    let t = Date()
    let f = CholeskyFactorization(symmetric: a, dimension: n, threads: threads)
    print("n \(n)  threads \(threads)  factorised \(f != nil)  \(String(format: "%.2f", Date().timeIntervalSince(t))) s")
}
