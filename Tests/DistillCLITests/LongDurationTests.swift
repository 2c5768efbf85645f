import DistillRun
import Testing

/// An estimate beyond 48 hours is said in days ("about 8326.1 hours" was shown).
@Suite struct LongDurationTests {
    @Test func beyondFortyEightHoursIsDays() {
        #expect(DurationEstimate.durationText(8326.1 * 3600) == "346.9 days")
        #expect(DurationEstimate.durationText(48 * 3600) == "2.0 days")
        #expect(DurationEstimate.durationText(47.5 * 3600) == "47.5 hours")
        #expect(DurationEstimate.durationText(3 * 3600) == "3.0 hours")
    }
}
