package examgate_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

func ltiClaims(sub string) *examgate.LTILaunchClaims {
	return &examgate.LTILaunchClaims{
		Issuer: "https://platform.example.com", ClientID: "client-1", DeploymentID: "dep-1", Subject: sub,
		Email: " Grace@Example.com ", FirstName: "Grace", LastName: "Hopper", CourseID: "course-1",
		ResourceLinkID: "rl-1", LineItemURL: "https://platform.example.com/lineitems/1/scores",
	}
}

func TestLTILaunchOpensEligibilityOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 0)
		clock := examgate.ClockFunc(func() time.Time { return *e.now })
		l := &examgate.LTILauncher{Store: store, Catalog: e.attempts.Catalog, Clock: clock}
		first, err := l.Launch(ctx, ltiClaims("sub-1"), "QUICK")
		if err != nil {
			t.Fatal(err)
		}
		if first.Candidate.Email != "grace@example.com" || first.SessionToken == "" {
			t.Errorf("first launch %+v", first.Candidate)
		}
		if want := e.now.AddDate(0, 0, 30); !first.Eligibility.EndsAt.Equal(want) {
			t.Errorf("eligibility ends %s, want %s (first launch + eligibilityDays)", first.Eligibility.EndsAt, want)
		}
		*e.now = e.now.AddDate(0, 0, 10)
		again, err := l.Launch(ctx, ltiClaims("sub-1"), "QUICK")
		if err != nil {
			t.Fatal(err)
		}
		if again.Candidate.ID != first.Candidate.ID || !again.Eligibility.EndsAt.Equal(first.Eligibility.EndsAt) {
			t.Errorf("relaunch: candidate %d window %s", again.Candidate.ID, again.Eligibility.EndsAt)
		}
		if _, err := l.Launch(ctx, ltiClaims("sub-1"), "NOPE"); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Errorf("unknown exam: %v", err)
		}
		sess, err := store.SessionByTokenHash(ctx, examgate.HashSessionToken(again.SessionToken), *e.now)
		if err != nil || sess.CandidateID != first.Candidate.ID {
			t.Errorf("session %+v %v", sess, err)
		}
	})
}

func scoreJobs(t *testing.T, store *db.DB, attemptID int64) []examgate.LTIScoreJob {
	t.Helper()
	jobs, err := store.Jobs(context.Background(), examgate.JobFilter{Key: examgate.LTIScoreJobKey(attemptID)})
	if err != nil {
		t.Fatal(err)
	}
	var out []examgate.LTIScoreJob
	for i := len(jobs) - 1; i >= 0; i-- { // Jobs lists newest first
		if jobs[i].Kind != examgate.JobLTIScore {
			t.Errorf("job kind %s", jobs[i].Kind)
		}
		var p examgate.LTIScoreJob
		if err := json.Unmarshal(jobs[i].Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestLTIScoreJobs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 1) // a TI candidate too
		clock := examgate.ClockFunc(func() time.Time { return *e.now })
		e.attempts.LTI = store
		e.attempts.ResultJobs, e.attempts.ResultEvents = examgate.TIResultJobs, examgate.ResultEventJobs
		l := &examgate.LTILauncher{Store: store, Catalog: e.attempts.Catalog, Clock: clock}
		launched, err := l.Launch(ctx, ltiClaims("sub-1"), "QUICK")
		if err != nil {
			t.Fatal(err)
		}
		cand := launched.Candidate.ID
		a, err := e.attempts.StartOnDemand(ctx, cand, "QUICK", "k1", launched.Eligibility)
		if err != nil {
			t.Fatal(err)
		}
		// A repeated start returns the open attempt and queues nothing more.
		if _, err := e.attempts.StartOnDemand(ctx, cand, "QUICK", "k2", launched.Eligibility); err != nil {
			t.Fatal(err)
		}
		jobs := scoreJobs(t, store, a.ID)
		if len(jobs) != 1 {
			t.Fatalf("%d score jobs after start, want 1", len(jobs))
		}
		p := jobs[0]
		// No score yet: neither scoreGiven nor scoreMaximum, which some
		// gradebooks would show as a zero.
		if p.ActivityProgress != "InProgress" || p.GradingProgress != "Pending" || p.ScoreGiven != nil ||
			p.ScoreMaximum != 0 || p.UserID != "sub-1" || p.Issuer != "https://platform.example.com" || p.ClientID != "client-1" ||
			p.LineItemURL != "https://platform.example.com/lineitems/1/scores" || p.AttemptID != a.ID || !p.Timestamp.Equal(*e.now) {
			t.Errorf("in progress job %+v", p)
		}
		if _, _, err := e.attempts.SaveChoices(ctx, as(cand), a.ID, "q1", []string{"false"}, 1); err != nil {
			t.Fatal(err)
		}
		*e.now = e.now.Add(90 * time.Second)
		if _, err := e.attempts.Submit(ctx, cand, a.ID); err != nil {
			t.Fatal(err)
		}
		jobs = scoreJobs(t, store, a.ID)
		if len(jobs) != 2 {
			t.Fatalf("%d score jobs after submit, want 2", len(jobs))
		}
		p = jobs[1]
		if p.ActivityProgress != "Completed" || p.GradingProgress != "FullyGraded" || p.ScoreGiven == nil || *p.ScoreGiven != 1 ||
			p.ScoreMaximum != 1 || !p.Timestamp.Equal(*e.now) || p.Comment == "" {
			t.Errorf("completed job %+v", p)
		}
		res, err := store.ResultByAttempt(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ti, _ := store.Jobs(ctx, examgate.JobFilter{Key: examgate.ResultJobKey(res.ID)}); len(ti) != 0 {
			t.Errorf("an LTI learner's result was also queued for TI: %+v", ti)
		}
		// Partners hear of it as of any other result.
		if ev, _ := store.Jobs(ctx, examgate.JobFilter{Kind: examgate.JobWebhookEvent}); len(ev) != 1 || !strings.Contains(string(ev[0].Payload), examgate.EventAttemptCompleted) {
			t.Errorf("attempt.completed events for the LTI learner: %+v", ev)
		}

		// A TI learner gets the TI result and no score jobs.
		tiCand := e.cands[0]
		tiElig := &examgate.Eligibility{ExamCode: "QUICK", EndsAt: e.now.AddDate(0, 0, 1)}
		b, err := e.attempts.StartOnDemand(ctx, tiCand, "QUICK", "k3", tiElig)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.attempts.Submit(ctx, tiCand, b.ID); err != nil {
			t.Fatal(err)
		}
		if n := len(scoreJobs(t, store, b.ID)); n != 0 {
			t.Errorf("%d score jobs for a TI learner", n)
		}
		res, _ = store.ResultByAttempt(ctx, b.ID)
		if ti, _ := store.Jobs(ctx, examgate.JobFilter{Key: examgate.ResultJobKey(res.ID)}); len(ti) != 1 {
			t.Errorf("TI learner's result jobs: %+v", ti)
		}
	})
}

func TestLTIDeliveryState(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 0)
		clock := examgate.ClockFunc(func() time.Time { return *e.now })
		e.attempts.LTI = store
		launched, err := (&examgate.LTILauncher{Store: store, Catalog: e.attempts.Catalog, Clock: clock}).Launch(ctx, ltiClaims("sub-1"), "QUICK")
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.attempts.StartOnDemand(ctx, launched.Candidate.ID, "QUICK", "k1", launched.Eligibility)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.attempts.Submit(ctx, launched.Candidate.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		res, err := store.ResultByAttempt(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		d := &examgate.Deliveries{Store: store, Clock: clock}
		if s, err := d.StateOf(ctx, res.ID); err != nil || s != examgate.DeliverySending {
			t.Fatalf("before the scores are sent: %q %v", s, err)
		}
		// The platform took both scores: the learner sees the result as sent.
		w := &examgate.Worker{Store: store, Clock: clock}
		w.Handle(examgate.JobLTIScore, func(context.Context, *examgate.QueuedJob) error { return nil })
		for range 2 {
			if worked, err := w.RunOnce(ctx); !worked || err != nil {
				t.Fatalf("worker: %v %v", worked, err)
			}
		}
		if s, err := d.StateOf(ctx, res.ID); err != nil || s != examgate.DeliverySent {
			t.Fatalf("after: %q %v", s, err)
		}
	})
}

// Where an attempt's scores go is fixed when it starts: relaunching the
// exam from another course, or from a link without a line item, while the
// attempt runs neither redirects nor drops its completed score.
func TestLTIScoresStayWithTheAttempt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 0)
		clock := examgate.ClockFunc(func() time.Time { return *e.now })
		e.attempts.LTI = store
		e.attempts.ResultJobs, e.attempts.ResultEvents = examgate.TIResultJobs, examgate.ResultEventJobs
		l := &examgate.LTILauncher{Store: store, Catalog: e.attempts.Catalog, Clock: clock}
		launched, err := l.Launch(ctx, ltiClaims("sub-1"), "QUICK")
		if err != nil {
			t.Fatal(err)
		}
		cand := launched.Candidate.ID
		a, err := e.attempts.StartOnDemand(ctx, cand, "QUICK", "k1", launched.Eligibility)
		if err != nil {
			t.Fatal(err)
		}
		// The learner opens the exam from another course, then from a link
		// whose launch has no AGS claim.
		other := ltiClaims("sub-1")
		other.CourseID, other.ResourceLinkID = "course-2", "rl-2"
		other.LineItemURL = "https://platform.example.com/lineitems/2/scores"
		if _, err := l.Launch(ctx, other, "QUICK"); err != nil {
			t.Fatal(err)
		}
		noAGS := ltiClaims("sub-1")
		noAGS.LineItemURL = ""
		if _, err := l.Launch(ctx, noAGS, "QUICK"); err != nil {
			t.Fatal(err)
		}
		*e.now = e.now.Add(30 * time.Second)
		if _, err := e.attempts.Submit(ctx, cand, a.ID); err != nil {
			t.Fatal(err)
		}
		jobs := scoreJobs(t, store, a.ID)
		if len(jobs) != 2 {
			t.Fatalf("%d score jobs, want the in-progress and the completed score", len(jobs))
		}
		for _, p := range jobs {
			if p.LineItemURL != "https://platform.example.com/lineitems/1/scores" || p.ClientID != "client-1" || p.UserID != "sub-1" {
				t.Errorf("%s score went to %s (client %s), want the line item of the launch the attempt started from", p.ActivityProgress, p.LineItemURL, p.ClientID)
			}
		}
		// The next attempt's scores go to the latest line item.
		lc, err := store.LTIContext(ctx, cand, "QUICK")
		if err != nil || lc.LineItemURL != other.LineItemURL {
			t.Errorf("latest context %+v %v, want line item %s", lc, err, other.LineItemURL)
		}
	})
}
