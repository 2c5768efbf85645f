/// What an L-BFGS minimisation achieved, with the evidence to trust it.
public struct LBFGSResult: Sendable {
    /// The last accepted point.
    public var x: [Double]
    /// f(x).
    public var value: Double
    /// ‖∇f(x)‖.
    public var gradientNorm: Double
    /// The absolute tolerance that certifies optimality: `relativeTolerance · ‖∇f(x₀)‖`.
    public var tolerance: Double
    /// Iterations (accepted steps) taken.
    public var iterations: Int
    /// Evaluations of f and ∇f, the start included.
    public var evaluations: Int
    /// Whether `gradientNorm ≤ tolerance`.
    public var converged: Bool { gradientNorm <= tolerance }
    /// Whether `stopRequested` ended the minimisation before it converged or stalled.
    public var stopped = false
}

/// Limited-memory BFGS (Nocedal, 1980) with a backtracking Armijo line search,
/// for smooth unconstrained minimisation of `f: Rⁿ → R` given `(f, ∇f)` together.
///
/// The direction is `d = -H g` with `H` the inverse-Hessian approximation built by
/// the two-loop recursion from the last `memory` pairs `sₖ = xₖ₊₁ - xₖ`,
/// `yₖ = gₖ₊₁ - gₖ`, started from `H₀ = (sᵀy / yᵀy) I`; a pair is kept only if
/// `sᵀy > 1e-12 · yᵀy` (curvature), which keeps `H` positive definite. The first
/// step is scaled to unit length. A step `t` is accepted when
///
///     f(x + t d) ≤ f(x) + 1e-4 · t · ∇f(x)ᵀd                (Armijo),
///
/// else `t` shrinks by quadratic interpolation (clamped to [0.1 t, 0.5 t]).
///
/// It stops when `‖∇f(x)‖ ≤ relativeTolerance · ‖∇f(x₀)‖` (certified), after
/// `maxIterations`, or when round-off in `f` and `∇f` stalls it: no step
/// decreases `f` any more, or `‖∇f‖` has not reached a new low in `stallIterations`
/// iterations (the result then says `converged == false`).
public struct LBFGS: Sendable {
    public var memory: Int
    public var relativeTolerance: Double
    public var maxIterations: Int
    public var stallIterations: Int

    public init(memory: Int = 10, relativeTolerance: Double = 1e-5, maxIterations: Int = 1000,
                stallIterations: Int = 50) {
        self.memory = max(1, memory)
        self.stallIterations = max(1, stallIterations)
        self.relativeTolerance = relativeTolerance
        self.maxIterations = maxIterations
    }

    /// Minimises `f` from `start`; `f(x)` returns the value and the gradient at `x`.
    /// `stopRequested` is asked before each iteration; once it answers true the
    /// minimisation ends there (`LBFGSResult.stopped`).
    public func minimize(from start: [Double], stopRequested: () -> Bool = { false },
                         _ f: ([Double]) -> (value: Double, gradient: [Double])) -> LBFGSResult {
        var x = start
        var (value, gradient) = f(x)
        var evaluations = 1
        var gradientNorm = Self.norm(gradient)
        let tolerance = relativeTolerance * gradientNorm
        var pairs: [(s: [Double], y: [Double], rho: Double)] = []
        var iterations = 0
        var lowestGradientNorm = gradientNorm, lastLow = 0
        var stopped = false
        while gradientNorm > tolerance && iterations < maxIterations && iterations - lastLow < stallIterations {
            if stopRequested() { stopped = true; break }
            var direction = twoLoopDirection(gradient, pairs)
            var slope = Self.dot(gradient, direction)
            if !(slope < 0) {   // round-off made H indefinite: restart from steepest descent
                pairs.removeAll()
                direction = gradient.map { -$0 }
                slope = -gradientNorm * gradientNorm
            }
            var t = pairs.isEmpty ? 1 / max(Self.norm(direction), .leastNormalMagnitude) : 1.0
            var accepted: (x: [Double], value: Double, gradient: [Double])?
            while t > 1e-20 {
                let trial = zip(x, direction).map { $0 + t * $1 }
                let (trialValue, trialGradient) = f(trial)
                evaluations += 1
                if trialValue <= value + 1e-4 * t * slope {
                    accepted = (trial, trialValue, trialGradient)
                    break
                }
                let curvature = trialValue - value - slope * t
                let interpolated = curvature > 0 ? -slope * t * t / (2 * curvature) : 0.5 * t
                t = min(0.5 * t, max(0.1 * t, interpolated))
            }
            guard let step = accepted else { break }   // f no longer decreases: round-off floor
            let s = zip(step.x, x).map { $0 - $1 }
            let y = zip(step.gradient, gradient).map { $0 - $1 }
            let sy = Self.dot(s, y), yy = Self.dot(y, y)
            if sy > 1e-12 * yy {
                pairs.append((s, y, 1 / sy))
                if pairs.count > memory { pairs.removeFirst() }
            }
            (x, value, gradient) = step
            gradientNorm = Self.norm(gradient)
            iterations += 1
            if gradientNorm < lowestGradientNorm { lowestGradientNorm = gradientNorm; lastLow = iterations }
        }
        return LBFGSResult(x: x, value: value, gradientNorm: gradientNorm, tolerance: tolerance,
                           iterations: iterations, evaluations: evaluations, stopped: stopped)
    }

    /// `-H g` by the two-loop recursion over `pairs` (oldest first).
    private func twoLoopDirection(_ g: [Double], _ pairs: [(s: [Double], y: [Double], rho: Double)]) -> [Double] {
        var q = g
        var alphas = [Double](repeating: 0, count: pairs.count)
        for k in pairs.indices.reversed() {
            let alpha = pairs[k].rho * Self.dot(pairs[k].s, q)
            alphas[k] = alpha
            Self.axpy(-alpha, pairs[k].y, &q)
        }
        if let last = pairs.last {
            let gamma = 1 / (last.rho * Self.dot(last.y, last.y))
            for i in q.indices { q[i] *= gamma }
        }
        for k in pairs.indices {
            let beta = pairs[k].rho * Self.dot(pairs[k].y, q)
            Self.axpy(alphas[k] - beta, pairs[k].s, &q)
        }
        for i in q.indices { q[i] = -q[i] }
        return q
    }

    private static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    private static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

    private static func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
        for i in y.indices { y[i] += alpha * x[i] }
    }
}
