import CDNNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The number type a network computes in: `Float` for training and evaluation
/// (its products run on oneDNN's `dnnl_sgemm`), `Double` for the derivative tests
/// (plain loops; tiny shapes only).
public protocol NetworkScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable {
    /// Row-major `c = alpha · op(a) · op(b) + beta · c`, `op(a)` m x k, `op(b)` k x n,
    /// `c` m x n; `op` transposes when the flag is set (leading dimensions as stored).
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Self, a: UnsafePointer<Self>, lda: Int,
                     b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `e^x`
    static func exponential(_ x: Self) -> Self
    /// The natural logarithm.
    static func logarithm(_ x: Self) -> Self
}

extension Float: NetworkScalar {
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        OneDNNThreads.singleThreaded()
        let ta = CChar(UInt8(ascii: transposeA ? "T" : "N")), tb = CChar(UInt8(ascii: transposeB ? "T" : "N"))
        let status = dnnl_sgemm(ta, tb, Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb),
                                beta, c, Int64(ldc))
        // Only reachable through inconsistent shapes, which the layers never pass.
        precondition(status == dnnl_success, "dnnl_sgemm failed (status \(status.rawValue)) for \(m)x\(n)x\(k)")
    }

    public static func exponential(_ x: Float) -> Float { expf(x) }
    public static func logarithm(_ x: Float) -> Float { logf(x) }
}

extension Double: NetworkScalar {
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Double, a: UnsafePointer<Double>, lda: Int,
                            b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += x * y
                }
                c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }

    public static func exponential(_ x: Double) -> Double { exp(x) }
    public static func logarithm(_ x: Double) -> Double { log(x) }
}

/// The size of oneDNN's OpenMP team. Its products (`dnnl_sgemm`, the dense layers)
/// and the ConvNet's convolution primitives run on the calling thread alone (team size 1).
enum OneDNNThreads {
    /// libgomp's `omp_set_num_threads`, looked up at run time: oneDNN's OpenMP
    /// runtime has loaded libgomp (Debian's build), and its development symlink is
    /// not on the linker's path. nil for a build with another threading runtime.
    private static let setNumThreads: (@convention(c) (Int32) -> Void)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Void).self)
    }()

    /// Sets this thread's OpenMP team size to 1 (a per-thread setting; cheap).
    @inline(__always)
    static func singleThreaded() { setNumThreads?(1) }

    /// Sets this thread's OpenMP team size (oneDNN's primitives run on, and are made for, that team).
    @inline(__always)
    static func set(_ threads: Int) { setNumThreads?(Int32(max(1, threads))) }
}
