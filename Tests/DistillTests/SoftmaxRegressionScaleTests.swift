import Testing
import DistillNumerics
import _TestSupport
@testable import Distill

/// The one-product `‖F(0)‖` that Newton-CG's tolerance is relative to.
@Suite struct SoftmaxRegressionScaleTests {
    @Test(arguments: [false, true])
    func gradientNormAtZeroIsTheNormOfTheGradientAtZero(soft: Bool) {
        let (m, p, classes) = (7, 13, 3)
        var labels = TestSupport.oneHot((0..<m).map { $0 % classes }, classes: classes)
        if soft { labels = labels.adding(TestSupport.randomMatrix(m, classes, seed: 41, scale: 0.3)) }
        let problem = SoftmaxRegression(images: TestSupport.randomMatrix(m, p, seed: 40), labels: labels, l2: 0.2)
        #expect(problem.gradientNormAtZero == problem.evaluate(at: Matrix(zeros: p, classes)).gradient.norm)
    }
}
