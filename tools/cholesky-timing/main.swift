// Times CholeskyFactorization at the sizes the NNGP/NTK ceiling considers (NeuralKernelCeiling):
//   swiftc -O -module-name Chol Sources/ImplicitDiff/*.swift tools/cholesky-timing/main.swift -o /tmp/chol && /tmp/chol
import Foundation
for n in [3000, 4000] {
    var a = [Double](repeating: 0, count: n * n)
    var s: UInt64 = 1
    for i in 0..<n { for j in 0...i { s = s &* 6364136223846793005 &+ 1442695040888963407; let v = Double(s >> 11) / Double(1 << 53) * 0.01; a[i*n+j] = v; a[j*n+i] = v }; a[i*n+i] += Double(n) }
    let t = Date()
    let f = CholeskyFactorization(symmetric: a, dimension: n)
    print(n, f != nil, Date().timeIntervalSince(t), "s")
}
