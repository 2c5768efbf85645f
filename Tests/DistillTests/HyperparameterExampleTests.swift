import Foundation
import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// Implicit differentiation beyond distillation: tuning the L2 strength of ridge
/// regression on a validation split by gradient descent on log λ (the first
/// example of Blondel et al., 2021). See docs/hyperparameter-example.md.
///
/// Inner: `W*(λ) = argmin (1/2n) ‖X W - y‖² + (λ/2) ‖W‖²` on the training split.
/// Outer: the validation loss `L(λ) = (1/2n_v) ‖X_v W*(λ) - y_v‖²`, whose
/// gradient in W is `G = (1/n_v) X_vᵀ (X_v W - y_v)`. By the implicit function
/// theorem `dL/dλ = -⟨W*, v⟩` with `H v = G` (reverse mode: `Hypergradient`), or
/// `dL/dλ = ⟨G, dW*/dλ⟩` with `H dW*/dλ = -W*` (forward mode: `rootJVP` along
/// `λ̇ = 1`). With `ρ = log λ`, `dL/dρ = λ dL/dλ`, and the update is `ρ ← ρ - η dL/dρ`.
@Suite struct HyperparameterExampleTests {
    let n = 40, validation = 40, p = 30
    /// A linear model with noise: y = X w + 0.5 ε, w ~ N(0, 1/p).
    func split(seed: UInt64, count: Int) -> (x: Matrix, y: Matrix) {
        let truth = TestSupport.randomMatrix(p, 1, seed: 401, scale: 1 / Double(p).squareRoot())
        let x = TestSupport.randomMatrix(count, p, seed: seed)
        let noise = TestSupport.randomMatrix(count, 1, seed: seed + 1, scale: 0.5)
        return (x, x.multiplied(by: truth).adding(noise))
    }

    func validationLoss(_ problem: RidgeRegression, _ val: (x: Matrix, y: Matrix)) -> (loss: Double, weights: Matrix, gradient: Matrix)? {
        guard let w = problem.solution() else { return nil }
        let r = val.x.multiplied(by: w).adding(val.y, scaledBy: -1)
        return (0.5 * r.dot(r) / Double(val.x.rows), w, val.x.transposedMultiplied(by: r).scaled(by: 1 / Double(val.x.rows)))
    }

    @Test func gradientDescentOnLogLambdaLowersTheValidationLoss() throws {
        let train = split(seed: 402, count: n), val = split(seed: 404, count: validation)
        var rho = log(1e-2)
        let learningRate = 10.0
        var losses: [Double] = []
        var worstError = 0.0, worstAbsolute = 0.0
        print("step  lambda        validation loss   dL/dlambda (implicit)  dL/dlambda (central differences)  rel. error")
        for step in 0...30 {
            let lambda = exp(rho)
            let problem = RidgeRegression(images: train.x, labels: train.y, l2: lambda)
            let outer = try #require(validationLoss(problem, val))
            let condition = RidgeRegressionCondition(problem: problem, weights: outer.weights)
            let reverse = Hypergradient(condition: condition, outerGradient: outer.gradient.values,
                                        solver: ConjugateGradient(tolerance: 1e-12))
            #expect(reverse.solve.converged)
            let forward = rootJVP(condition, tangent: SyntheticSetTangent(images: Matrix(zeros: n, p), labels: Matrix(zeros: n, 1), l2: 1),
                                  solver: CholeskySolver(tolerance: 1e-12))
            let forwardDerivative = outer.gradient.values.enumerated().reduce(0) { $0 + $1.element * forward.tangent[$1.offset] }
            let h = 1e-4 * lambda
            let plus = try #require(validationLoss(RidgeRegression(images: train.x, labels: train.y, l2: lambda + h), val)).loss
            let minus = try #require(validationLoss(RidgeRegression(images: train.x, labels: train.y, l2: lambda - h), val)).loss
            let numeric = (plus - minus) / (2 * h)
            let error = abs(reverse.cotangent.l2 - numeric) / abs(numeric)
            // Near the optimum dL/dλ → 0 and the central difference of a flat loss
            // (≈ 0.25, step h = 1e-4 λ) carries truncation and round-off errors of a few
            // 1e-10 in absolute terms (observed: at most 2.4e-9), so the check is mixed.
            #expect(abs(reverse.cotangent.l2 - numeric) <= 1e-6 * abs(numeric) + 1e-9)
            #expect(abs(forwardDerivative - reverse.cotangent.l2) <= 1e-9 * abs(reverse.cotangent.l2) + 1e-13, "forward and reverse mode agree")
            worstError = max(worstError, error)
            worstAbsolute = max(worstAbsolute, abs(reverse.cotangent.l2 - numeric))
            losses.append(outer.loss)
            if step % 5 == 0 {
                print(String(format: "%4d  %.6e  %.10f    %+.10e      %+.10e                 %.1e",
                             step, lambda, outer.loss, reverse.cotangent.l2, numeric, error))
            }
            rho -= learningRate * lambda * reverse.cotangent.l2
        }
        print("implicit dL/dλ against central differences: max relative error \(worstError), max absolute error \(worstAbsolute)")
        // The best λ on a grid, for reference.
        let grid = (0...80).map { exp(log(1e-4) + Double($0) * log(1e4) / 80) }
        let best = try grid.map { try #require(validationLoss(RidgeRegression(images: train.x, labels: train.y, l2: $0), val)).loss }.min() ?? .infinity
        print("validation loss: start \(losses[0]), end \(losses[losses.count - 1]); best on a log grid of 81 λ in [1e-4, 1]: \(best)")
        #expect(zip(losses, losses.dropFirst()).allSatisfy { $1 <= $0 + 1e-12 }, "monotone decrease")
        #expect(losses[losses.count - 1] < 0.8 * losses[0])
        #expect(losses[losses.count - 1] <= best * (1 + 1e-3))
    }
}
