package lti_test

import (
	"context"
	"testing"
)

// BenchmarkLaunchCheck measures the launch check with the platform's keys
// cached: state lookup, RS256 verification, claim checks and nonce record,
// on the in-memory store. The round trip to the platform is outside the timer.
func BenchmarkLaunchCheck(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	if _, err := f.launch(b, student, examLink("DEMO-101")); err != nil { // fills the JWKS cache
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		req, err := f.run(b, student, examLink("DEMO-101"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := f.tool.Launch(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
