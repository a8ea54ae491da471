package examgate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

const (
	rdKey               = "rd-ti-api-key"
	rdExam              = "RD-QUIZ"
	rdCourse            = "rd-course"
	rdSlug              = "rd-course-slug"
	rdCatalogAssignment = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
	rdResultPath        = "/incoming/v2/assignmentExternalActivity"
)

// rdT0 is when every delivery test starts; whole seconds, so that stored
// times compare exactly on both databases.
var rdT0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

const rdCatalogYAML = `
exams:
  - code: RD-QUIZ
    title: Delivery Quiz
    eligibilityDays: 30
    ti: {courseIds: [rd-course], courseSlug: rd-course-slug, assignmentId: e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b}
    delivery:
      onDemand: true
      durationMinutes: 10
      passMark: 50
      items:
        - {id: q1, type: truefalse, stem: "True?", correct: ["true"]}
`

// rdClock is a clock the test moves by hand.
type rdClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *rdClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *rdClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *rdClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rdBackoff is a deterministic backoff: 13s, doubling, at most an hour.
func rdBackoff(attempt int) time.Duration {
	d := 13 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// rdTI adapts the TI client to result delivery, as the command does.
type rdTI struct{ *tiapi.Client }

func (t rdTI) PostResult(ctx context.Context, p examgate.TIResultPost) error {
	return t.Client.PostResult(ctx, tiapi.ResultPost{
		Status: p.Status, AssignmentID: p.AssignmentID, LearnerID: p.LearnerID,
		Grade: p.Grade, GradeFeedback: p.GradeFeedback,
	})
}

// rdEnv is a store, a fake TI on a real HTTP listener, a real TI client and
// a worker that delivers results with them.
type rdEnv struct {
	store    *db.DB
	fake     *titest.Server
	tiURL    string
	client   *tiapi.Client
	clock    *rdClock
	catalog  *examgate.Catalog
	attempts *examgate.Attempts
	delivery *examgate.ResultDelivery
	worker   *examgate.Worker
	// afterPost, when set, sees every outcome of HandleResult while its job
	// is still running.
	afterPost func(job *examgate.QueuedJob, err error)
	seq       int
}

func newRDEnv(t *testing.T, store *db.DB, wrap func(http.Handler) http.Handler) *rdEnv {
	t.Helper()
	catalog, err := examgate.ParseCatalog([]byte(rdCatalogYAML))
	if err != nil {
		t.Fatal(err)
	}
	fake := titest.New(rdKey)
	var h http.Handler = fake
	if wrap != nil {
		h = wrap(fake)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := tiapi.NewClient(srv.URL, rdKey)
	client.Sleep = func(context.Context, time.Duration) error { return nil }
	logger := slog.New(slog.DiscardHandler)
	e := &rdEnv{store: store, fake: fake, tiURL: srv.URL, client: client, clock: &rdClock{t: rdT0}, catalog: catalog}
	e.attempts = &examgate.Attempts{Store: store, Catalog: catalog, Clock: e.clock, Logger: logger, ResultJobs: examgate.TIResultJobs}
	e.delivery = &examgate.ResultDelivery{Store: store, TI: rdTI{client}, Catalog: catalog, Clock: e.clock, Logger: logger}
	e.worker = &examgate.Worker{Store: store, Clock: e.clock, Logger: logger, Backoff: rdBackoff}
	e.worker.Handle(examgate.JobTIResult, func(ctx context.Context, job *examgate.QueuedJob) error {
		err := e.delivery.HandleResult(ctx, job)
		if e.afterPost != nil {
			e.afterPost(job, err)
		}
		return err
	})
	e.worker.Handle(examgate.JobTIReset, e.delivery.HandleReset)
	return e
}

type rdLearner struct {
	cand *examgate.Candidate
	user titest.User
	elig *examgate.Eligibility
}

// candidate records a launch as the launcher would: the candidate, with TI's
// user id when known, and their eligibility with the token's assignment id.
func (e *rdEnv) candidate(t *testing.T, email, tiUserID, assignment string) (*examgate.Candidate, *examgate.Eligibility) {
	t.Helper()
	e.seq++
	now := e.clock.Now()
	elig := examgate.Eligibility{
		ExamCode: rdExam, CourseID: rdCourse, AssignmentID: assignment,
		PurchasedAt: now.Add(-24 * time.Hour), EndsAt: now.AddDate(0, 0, 30), CheckedAt: now,
	}
	cand, err := e.store.CompleteLaunch(context.Background(), &examgate.LaunchRecord{
		TokenID: fmt.Sprintf("rd-token-%d", e.seq), TokenExpiresAt: now.Add(time.Hour),
		Candidate:   examgate.Candidate{Email: email, FirstName: "Rd", LastName: fmt.Sprint(e.seq), TIUserID: tiUserID},
		Eligibility: elig,
		Session:     examgate.Session{TokenHash: fmt.Sprintf("rd-session-%d", e.seq), CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	elig.CandidateID = cand.ID
	return cand, &elig
}

// learner adds a TI user and their candidate; knownID says whether the
// launch token carried TI's user id.
func (e *rdEnv) learner(t *testing.T, knownID bool, assignment string) rdLearner {
	t.Helper()
	email := fmt.Sprintf("learner%d@example.com", e.seq+1)
	user := e.fake.AddUser(titest.User{Email: email, FirstName: "Rd", LastName: "Learner"})
	id := ""
	if knownID {
		id = user.ID
	}
	cand, elig := e.candidate(t, email, id, assignment)
	return rdLearner{cand: cand, user: user, elig: elig}
}

// sit takes the on-demand quiz and submits it, passed or failed; the
// delivery job is enqueued in the transaction that stores the result.
func (e *rdEnv) sit(t *testing.T, l rdLearner, pass bool) *examgate.Result {
	t.Helper()
	ctx := context.Background()
	e.seq++
	a, err := e.attempts.StartOnDemand(ctx, l.cand.ID, rdExam, fmt.Sprintf("rd-start-%d", e.seq), l.elig)
	if err != nil {
		t.Fatal(err)
	}
	answer := "false"
	if pass {
		answer = "true"
	}
	if _, ok, err := e.attempts.SaveChoices(ctx, as(l.cand.ID), a.ID, "q1", []string{answer}, 1); err != nil || !ok {
		t.Fatalf("save: %v %v", ok, err)
	}
	if _, err := e.attempts.Submit(ctx, l.cand.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	r, err := e.store.ResultByAttempt(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Passed != pass {
		t.Fatalf("result %+v, want passed = %v", r, pass)
	}
	return r
}

func (e *rdEnv) runOnce(t *testing.T) bool {
	t.Helper()
	worked, err := e.worker.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return worked
}

// drain runs every due job and returns how many ran.
func (e *rdEnv) drain(t *testing.T) int {
	t.Helper()
	for n := 0; n < 10000; n++ {
		if !e.runOnce(t) {
			return n
		}
	}
	t.Fatal("the queue never ran dry")
	return 0
}

func (e *rdEnv) state(t *testing.T, resultID int64) string {
	t.Helper()
	s, err := (&examgate.Deliveries{Store: e.store}).StateOf(context.Background(), resultID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rdJobs returns a result's jobs of one kind, newest first.
func rdJobs(t *testing.T, store *db.DB, resultID int64, kind string) []examgate.QueuedJob {
	t.Helper()
	jobs, err := store.Jobs(context.Background(), examgate.JobFilter{Kind: kind, Key: examgate.ResultJobKey(resultID)})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// rdJob returns the single job of a kind of a result.
func rdJob(t *testing.T, store *db.DB, resultID int64, kind string) examgate.QueuedJob {
	t.Helper()
	jobs := rdJobs(t, store, resultID, kind)
	if len(jobs) != 1 {
		t.Fatalf("result %d has %d %s jobs, want 1: %+v", resultID, len(jobs), kind, jobs)
	}
	return jobs[0]
}

func rdResultBody(status, assignment, learner string, grade int, feedback string) string {
	return fmt.Sprintf(`{"status":%q,"assignmentId":%q,"learnerId":%q,"grade":%d,"gradeFeedback":%q}`,
		status, assignment, learner, grade, feedback)
}

func rdResetBody(slug string) string {
	return fmt.Sprintf(`{"slug":%q,"resetProgress":true,"revokeAccess":true}`, slug)
}

func rdStatuses(posts []titest.Posted) []int {
	out := make([]int, len(posts))
	for i, p := range posts {
		out[i] = p.Status
	}
	return out
}

func TestResultDeliveryPass(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newRDEnv(t, store, nil)
		l := e.learner(t, true, "")
		r := e.sit(t, l, true)

		// The delivery exists as soon as the result does, before any worker ran.
		if j := rdJob(t, store, r.ID, examgate.JobTIResult); j.State != examgate.JobQueued || !j.RunAt.Equal(rdT0) {
			t.Fatalf("job after submit = %+v", j)
		}
		if s := e.state(t, r.ID); s != examgate.DeliverySending {
			t.Fatalf("state before delivery = %s", s)
		}

		if n := e.drain(t); n != 1 {
			t.Fatalf("%d jobs ran, want 1 (the post, no reset)", n)
		}
		posts := e.fake.ResultPosts()
		if len(posts) != 1 {
			t.Fatalf("%d result posts, want 1", len(posts))
		}
		want := rdResultBody("completed", rdCatalogAssignment, l.user.ID, 100, "Great Job!")
		if got := string(posts[0].Body); got != want {
			t.Fatalf("posted\n%s\nwant\n%s", got, want)
		}
		if posts[0].Status != http.StatusFound || posts[0].ContentType != "application/json" {
			t.Fatalf("post answered %d, content type %q", posts[0].Status, posts[0].ContentType)
		}
		if resets := e.fake.Resets(); len(resets) != 0 {
			t.Fatalf("a passed exam reset the course: %+v", resets)
		}
		if jobs := rdJobs(t, store, r.ID, examgate.JobTIReset); len(jobs) != 0 {
			t.Fatalf("a passed exam enqueued a reset: %+v", jobs)
		}
		if j := rdJob(t, store, r.ID, examgate.JobTIResult); j.State != examgate.JobDone || j.Attempts != 1 {
			t.Fatalf("job = %+v", j)
		}
		if s := e.state(t, r.ID); s != examgate.DeliverySent {
			t.Fatalf("state = %s, want %s", s, examgate.DeliverySent)
		}
	})
}

func TestResultDeliveryFailResetsAfterPost(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newRDEnv(t, store, nil)
		l := e.learner(t, true, "")
		r := e.sit(t, l, false)

		// While the post job still runs, check what HandleResult left behind.
		checked := 0
		e.afterPost = func(job *examgate.QueuedJob, err error) {
			checked++
			resets := rdJobs(t, store, r.ID, examgate.JobTIReset)
			if err != nil {
				if len(resets) != 0 {
					t.Errorf("the reset was enqueued although the post failed (%v): %+v", err, resets)
				}
				return
			}
			if len(resets) != 1 || resets[0].State != examgate.JobQueued || resets[0].ID <= job.ID || resets[0].Key != job.Key {
				t.Errorf("after a successful post: reset jobs %+v, post job %d key %q", resets, job.ID, job.Key)
			}
			// Even an hour on, no worker may take the reset while its post is unfinished.
			got, cerr := store.ClaimJob(ctx, []string{examgate.JobTIReset}, e.clock.Now().Add(time.Hour), time.Minute)
			if cerr != nil || got != nil {
				t.Errorf("the reset could be claimed beside its running post: %+v %v", got, cerr)
			}
		}

		// First try: TI answers 500.
		e.fake.FailNext(1, http.StatusInternalServerError, "")
		if !e.runOnce(t) {
			t.Fatal("the post was not due")
		}
		post := rdJob(t, store, r.ID, examgate.JobTIResult)
		if post.State != examgate.JobQueued || post.Attempts != 1 || !post.RunAt.Equal(rdT0.Add(rdBackoff(1))) || !strings.Contains(post.LastError, "HTTP 500") {
			t.Fatalf("post job after a 500 = %+v", post)
		}
		if jobs := rdJobs(t, store, r.ID, examgate.JobTIReset); len(jobs) != 0 {
			t.Fatalf("reset enqueued before the post succeeded: %+v", jobs)
		}
		if resets := e.fake.Resets(); len(resets) != 0 {
			t.Fatalf("course reset before the post succeeded: %+v", resets)
		}
		// Nothing is due until the backoff has passed.
		e.clock.Set(post.RunAt.Add(-time.Second))
		if e.runOnce(t) {
			t.Fatal("a job ran before the post's retry was due")
		}
		if jobs := rdJobs(t, store, r.ID, examgate.JobTIReset); len(jobs) != 0 || len(e.fake.Resets()) != 0 {
			t.Fatalf("reset before the post succeeded: jobs %+v", jobs)
		}
		if s := e.state(t, r.ID); s != examgate.DeliverySending {
			t.Fatalf("state while retrying = %s", s)
		}

		// The retry succeeds and only then enqueues the reset.
		e.clock.Set(post.RunAt)
		if !e.runOnce(t) {
			t.Fatal("the retry was not due")
		}
		if checked != 2 {
			t.Fatalf("HandleResult ran %d times, want 2", checked)
		}
		post = rdJob(t, store, r.ID, examgate.JobTIResult)
		reset := rdJob(t, store, r.ID, examgate.JobTIReset)
		if post.State != examgate.JobDone || reset.State != examgate.JobQueued || reset.ID <= post.ID || reset.Key != post.Key || !reset.RunAt.Equal(post.RunAt) {
			t.Fatalf("after the post: post %+v, reset %+v", post, reset)
		}
		if len(e.fake.Resets()) != 0 {
			t.Fatal("the reset was sent before its job ran")
		}
		if s := e.state(t, r.ID); s != examgate.DeliverySending {
			t.Fatalf("state between post and reset = %s", s)
		}
		if n := e.drain(t); n != 1 {
			t.Fatalf("%d jobs ran after the post, want the reset only", n)
		}

		want := rdResultBody("incomplete", rdCatalogAssignment, l.user.ID, 0, "Failed")
		posts := e.fake.ResultPosts()
		if !slices.Equal(rdStatuses(posts), []int{http.StatusInternalServerError, http.StatusFound}) {
			t.Fatalf("result post statuses = %v", rdStatuses(posts))
		}
		for _, p := range posts {
			if string(p.Body) != want {
				t.Fatalf("posted\n%s\nwant\n%s", p.Body, want)
			}
		}
		resets := e.fake.Resets()
		if len(resets) != 1 || string(resets[0].Body) != rdResetBody(rdSlug) || resets[0].Status != http.StatusOK ||
			resets[0].Path != "/incoming/v2/users/"+l.user.ID+"/resetProgress" {
			t.Fatalf("resets = %+v", resets)
		}
		// On the wire, too, the reset came after the accepted post.
		all := e.fake.Posted()
		if len(all) != 3 || all[1].Path != rdResultPath || all[1].Status != http.StatusFound || all[2].Path != resets[0].Path {
			t.Fatalf("posts in order: %+v", all)
		}
		if s := e.state(t, r.ID); s != examgate.DeliverySent {
			t.Fatalf("state = %s, want %s", s, examgate.DeliverySent)
		}

		// A repeated run of the post job (its worker died before recording
		// the outcome) posts the same grade again but adds no second reset.
		if err := e.delivery.HandleResult(ctx, &post); err != nil {
			t.Fatal(err)
		}
		if jobs := rdJobs(t, store, r.ID, examgate.JobTIReset); len(jobs) != 1 {
			t.Fatalf("%d reset jobs after a repeated post, want 1", len(jobs))
		}
	})
}

// A reset TI does not confirm with ResetUserCourseProgress true is not done:
// it is retried with backoff until TI confirms it.
func TestResultDeliveryResetMustBeConfirmed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newRDEnv(t, store, nil)
		l := e.learner(t, true, "")
		r := e.sit(t, l, false)
		e.fake.SetResetAnswer(false)
		if n := e.drain(t); n != 2 {
			t.Fatalf("%d jobs ran, want the post and one reset", n)
		}
		reset := rdJob(t, store, r.ID, examgate.JobTIReset)
		if reset.State != examgate.JobQueued || !reset.RunAt.After(e.clock.Now()) || !strings.Contains(reset.LastError, "ResetUserCourseProgress false") {
			t.Fatalf("reset job after an unconfirmed reset = %+v", reset)
		}
		if s := e.state(t, r.ID); s == examgate.DeliverySent {
			t.Fatal("an unconfirmed reset counts as delivered")
		}
		e.fake.SetResetAnswer(true)
		e.clock.Set(reset.RunAt)
		if !e.runOnce(t) {
			t.Fatal("the reset was not retried")
		}
		if j := rdJob(t, store, r.ID, examgate.JobTIReset); j.State != examgate.JobDone || len(e.fake.Resets()) != 2 {
			t.Fatalf("reset job = %+v after %d resets", j, len(e.fake.Resets()))
		}
		if s := e.state(t, r.ID); s != examgate.DeliverySent {
			t.Fatalf("state = %s", s)
		}
	})
}

func TestResultDeliveryAssignmentAndLearner(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newRDEnv(t, store, nil)

		// The launch token's assignment wins over the catalog's, and a known
		// TI user id needs no lookup.
		fromToken := e.learner(t, true, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
		r1 := e.sit(t, fromToken, true)
		// Without TI's user id the learner is looked up by email.
		byEmail := e.learner(t, false, "")
		r2 := e.sit(t, byEmail, false)
		// A learner TI does not know cannot be delivered: failed, not retried.
		stranger, strangerElig := e.candidate(t, "stranger@example.com", "", "")
		r3 := e.sit(t, rdLearner{cand: stranger, elig: strangerElig}, true)

		if n := e.drain(t); n != 4 {
			t.Fatalf("%d jobs ran, want 2 posts, 1 reset and 1 failed post", n)
		}
		want := map[string]bool{
			rdResultBody("completed", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", fromToken.user.ID, 100, "Great Job!"): true,
			rdResultBody("incomplete", rdCatalogAssignment, byEmail.user.ID, 0, "Failed"):                           true,
		}
		posts := e.fake.ResultPosts()
		if len(posts) != 2 {
			t.Fatalf("%d result posts, want 2", len(posts))
		}
		for _, p := range posts {
			if !want[string(p.Body)] || p.Status != http.StatusFound {
				t.Errorf("unexpected post %d %s", p.Status, p.Body)
			}
			delete(want, string(p.Body))
		}
		if resets := e.fake.Resets(); len(resets) != 1 || resets[0].Path != "/incoming/v2/users/"+byEmail.user.ID+"/resetProgress" {
			t.Fatalf("resets = %+v", resets)
		}
		var lookups []string
		for _, c := range e.fake.Calls() {
			if c.Method == http.MethodGet && strings.HasPrefix(c.Path, "/incoming/v2/users/") {
				lookups = append(lookups, fmt.Sprintf("%s %d", c.Path, c.Status))
			}
		}
		// The reset of byEmail's failed exam looks the user up again.
		wantLookups := []string{
			"/incoming/v2/users/" + byEmail.cand.Email + " 200",
			"/incoming/v2/users/" + byEmail.cand.Email + " 200",
			"/incoming/v2/users/stranger@example.com 404",
		}
		slices.Sort(lookups)
		if !slices.Equal(lookups, wantLookups) {
			t.Fatalf("user lookups = %q, want %q", lookups, wantLookups)
		}
		for _, c := range []struct {
			id    int64
			state string
		}{{r1.ID, examgate.DeliverySent}, {r2.ID, examgate.DeliverySent}, {r3.ID, examgate.DeliveryFailed}} {
			if s := e.state(t, c.id); s != c.state {
				t.Errorf("result %d: state %s, want %s", c.id, s, c.state)
			}
		}
		if j := rdJob(t, store, r3.ID, examgate.JobTIResult); j.State != examgate.JobFailed || !strings.Contains(j.LastError, "TI has no user") {
			t.Fatalf("stranger's job = %+v", j)
		}
	})
}

// rdOneResult is an env with one passed result waiting for delivery.
func rdOneResult(t *testing.T, store *db.DB) (*rdEnv, rdLearner, *examgate.Result) {
	t.Helper()
	e := newRDEnv(t, store, nil)
	l := e.learner(t, true, "")
	return e, l, e.sit(t, l, true)
}

func TestResultDeliveryResponseClasses(t *testing.T) {
	t.Run("400 fails with TI's message", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, store *db.DB) {
			e, _, r := rdOneResult(t, store)
			e.fake.FailNextWith(1, http.StatusBadRequest, "", `{"errors":[{"message":"Assignment not found"}]}`)
			if !e.runOnce(t) {
				t.Fatal("nothing ran")
			}
			j := rdJob(t, store, r.ID, examgate.JobTIResult)
			if j.State != examgate.JobFailed || j.DoneAt == nil || !j.DoneAt.Equal(rdT0) ||
				!strings.Contains(j.LastError, "Assignment not found") || !strings.Contains(j.LastError, "HTTP 400") {
				t.Fatalf("job = %+v", j)
			}
			// Never retried, however long we wait.
			e.clock.Add(4 * 24 * time.Hour)
			if e.runOnce(t) {
				t.Fatal("a failed delivery ran again")
			}
			if posts := e.fake.ResultPosts(); len(posts) != 1 || posts[0].Status != http.StatusBadRequest {
				t.Fatalf("posts = %v", rdStatuses(posts))
			}
			if s := e.state(t, r.ID); s != examgate.DeliveryFailed {
				t.Fatalf("state = %s", s)
			}
		})
	})

	// retried checks that the job waits exactly until want, then delivers.
	retried := func(t *testing.T, e *rdEnv, r *examgate.Result, want time.Time, msg string) {
		t.Helper()
		j := rdJob(t, e.store, r.ID, examgate.JobTIResult)
		if j.State != examgate.JobQueued || !j.RunAt.Equal(want) || !strings.Contains(j.LastError, msg) {
			t.Fatalf("job = %+v; want queued for %v with %q", j, want, msg)
		}
		e.clock.Set(want.Add(-time.Second))
		if e.runOnce(t) {
			t.Fatal("the job ran before its run_at")
		}
		e.clock.Set(want)
		if !e.runOnce(t) {
			t.Fatal("the job was not due at its run_at")
		}
		if j := rdJob(t, e.store, r.ID, examgate.JobTIResult); j.State != examgate.JobDone || j.Attempts != 2 {
			t.Fatalf("job after the retry = %+v", j)
		}
		if st := rdStatuses(e.fake.ResultPosts()); len(st) != 2 || st[1] != http.StatusFound {
			t.Fatalf("post statuses = %v", st)
		}
	}

	t.Run("401 waits the client's ConfigRetry", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, store *db.DB) {
			e, _, r := rdOneResult(t, store)
			if e.client.ConfigRetry != 30*time.Minute {
				t.Fatalf("ConfigRetry = %v, want 30m", e.client.ConfigRetry)
			}
			e.fake.FailNext(1, http.StatusUnauthorized, "")
			e.runOnce(t)
			retried(t, e, r, rdT0.Add(e.client.ConfigRetry), "EXAMGATE_TI_API_KEY")
		})
	})

	t.Run("feature not enabled waits the client's ConfigRetry", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, store *db.DB) {
			e, _, r := rdOneResult(t, store)
			e.fake.SetExternalActivityEnabled(false)
			e.runOnce(t)
			if posts := e.fake.ResultPosts(); len(posts) != 1 || posts[0].Status != http.StatusBadRequest {
				t.Fatalf("posts = %v", rdStatuses(posts))
			}
			e.fake.SetExternalActivityEnabled(true)
			retried(t, e, r, rdT0.Add(e.client.ConfigRetry), "External Activity feature")
		})
	})

	t.Run("429 waits Retry-After", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, store *db.DB) {
			e, _, r := rdOneResult(t, store)
			e.fake.FailNext(1, http.StatusTooManyRequests, "17")
			e.runOnce(t)
			retried(t, e, r, rdT0.Add(17*time.Second), "HTTP 429")
		})
	})

	t.Run("500 waits the backoff", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, store *db.DB) {
			e, _, r := rdOneResult(t, store)
			e.fake.FailNext(1, http.StatusInternalServerError, "")
			e.runOnce(t)
			retried(t, e, r, rdT0.Add(rdBackoff(1)), "HTTP 500")
		})
	})

	t.Run("down for more than 3 days gives up", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, store *db.DB) {
			e, l, r := rdOneResult(t, store)
			e.fake.SetDown(true)
			giveUpAt := r.CreatedAt.Add(examgate.DefaultJobMaxAge)
			var j examgate.QueuedJob
			for step := 0; ; step++ {
				if step > 500 {
					t.Fatalf("still retrying after %d steps: %+v", step, j)
				}
				if !e.runOnce(t) {
					t.Fatalf("step %d: the job was not due at %v", step, e.clock.Now())
				}
				j = rdJob(t, store, r.ID, examgate.JobTIResult)
				if j.State == examgate.JobFailed {
					break
				}
				if j.State != examgate.JobQueued || !j.RunAt.After(e.clock.Now()) || j.RunAt.After(giveUpAt) {
					t.Fatalf("step %d: job = %+v", step, j)
				}
				// Not a moment early.
				e.clock.Set(j.RunAt.Add(-time.Second))
				if e.runOnce(t) {
					t.Fatalf("step %d: ran before its run_at %v", step, j.RunAt)
				}
				e.clock.Set(j.RunAt)
			}
			failedAt := e.clock.Now()
			if !strings.HasPrefix(j.LastError, fmt.Sprintf("gave up after %d attempts", j.Attempts)) || !strings.Contains(j.LastError, "HTTP 503") {
				t.Fatalf("last error = %q", j.LastError)
			}
			// It kept trying for (almost) the whole three days, and no longer.
			if failedAt.After(giveUpAt) || failedAt.Add(time.Hour).Before(giveUpAt) || !j.GiveUpAt.Equal(giveUpAt) {
				t.Fatalf("gave up at %v; deadline %v (job's %v)", failedAt, giveUpAt, j.GiveUpAt)
			}
			posts := e.fake.ResultPosts()
			if len(posts) != j.Attempts {
				t.Fatalf("%d posts for %d attempts", len(posts), j.Attempts)
			}
			for _, p := range posts {
				if p.Status != http.StatusServiceUnavailable {
					t.Fatalf("post answered %d while TI was down", p.Status)
				}
			}
			e.clock.Add(time.Hour)
			if e.runOnce(t) {
				t.Fatal("a job ran after the delivery gave up")
			}
			if s := e.state(t, r.ID); s != examgate.DeliveryFailed {
				t.Fatalf("state = %s", s)
			}
			t.Logf("gave up after %d attempts, %v after the result", j.Attempts, failedAt.Sub(r.CreatedAt))

			// Once TI is back, a staff retry delivers the same grade.
			e.fake.SetDown(false)
			if err := store.RequeueJob(context.Background(), j.ID, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if n := e.drain(t); n != 1 {
				t.Fatalf("%d jobs ran after the requeue", n)
			}
			posts = e.fake.ResultPosts()
			last := posts[len(posts)-1]
			if last.Status != http.StatusFound || string(last.Body) != rdResultBody("completed", rdCatalogAssignment, l.user.ID, 100, "Great Job!") {
				t.Fatalf("post after requeue: %d %s", last.Status, last.Body)
			}
			if s := e.state(t, r.ID); s != examgate.DeliverySent {
				t.Fatalf("state after requeue = %s", s)
			}
		})
	})
}

// rdTraffic watches the POSTs reaching the fake TI: how many per learner
// are in flight at once, how many of each kind each learner got, in which
// order, and (with now) at what time each result post arrived.
type rdTraffic struct {
	now func() time.Time

	mu       sync.Mutex
	inflight map[string]int
	overlaps []string
	posts    map[string]int // result posts per "assignment/learner"
	resets   map[string]int // resets per learner
	order    []string       // "post <learner>" or "reset <learner>"
	times    []time.Time    // of result posts
}

func newRDTraffic() *rdTraffic {
	return &rdTraffic{inflight: map[string]int{}, posts: map[string]int{}, resets: map[string]int{}}
}

func (tr *rdTraffic) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var learner, event string
		isPost := r.URL.Path == rdResultPath
		if isPost {
			var p struct {
				AssignmentID string `json:"assignmentId"`
				LearnerID    string `json:"learnerId"`
			}
			_ = json.Unmarshal(body, &p)
			learner, event = p.LearnerID, "post "+p.LearnerID
			tr.mu.Lock()
			tr.posts[p.AssignmentID+"/"+p.LearnerID]++
			if tr.now != nil {
				tr.times = append(tr.times, tr.now())
			}
			tr.mu.Unlock()
		} else {
			learner = strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/incoming/v2/users/"), "/resetProgress")
			event = "reset " + learner
			tr.mu.Lock()
			tr.resets[learner]++
			tr.mu.Unlock()
		}
		tr.mu.Lock()
		tr.inflight[learner]++
		if tr.inflight[learner] > 1 {
			tr.overlaps = append(tr.overlaps, event)
		}
		tr.order = append(tr.order, event)
		tr.mu.Unlock()
		defer func() {
			tr.mu.Lock()
			tr.inflight[learner]--
			tr.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

func rdOpen(t *testing.T, dsn string) *db.DB {
	t.Helper()
	s, err := db.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rdSyncBuffer collects log lines written from several goroutines.
type rdSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *rdSyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *rdSyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDeliveryWorkersPostEachResultOnce runs two workers, each on its own
// handle to one database as two processes would, over 60 results.
func TestDeliveryWorkersPostEachResultOnce(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		url := dbtest.PostgresURL(t)
		first := rdOpen(t, url)
		if err := first.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		rdTwoWorkers(t, first, rdOpen(t, url))
	})
	t.Run("sqlite", func(t *testing.T) {
		first, path := dbtest.OpenSQLiteFile(t)
		rdTwoWorkers(t, first, rdOpen(t, path))
	})
}

func rdTwoWorkers(t *testing.T, first, second *db.DB) {
	const nResults = 60
	tr := newRDTraffic()
	e := newRDEnv(t, first, tr.wrap)
	e.fake.SetLatency(2 * time.Millisecond) // a request takes a while, as over the internet
	learners := make([]rdLearner, nResults)
	failed := 0
	for i := range learners {
		learners[i] = e.learner(t, true, "")
		pass := i%3 != 0
		if !pass {
			failed++
		}
		e.sit(t, learners[i], pass)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	logs := &rdSyncBuffer{}
	var handled [2]atomic.Int64
	for i, store := range []*db.DB{first, second} {
		logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		d := &examgate.ResultDelivery{Store: store, TI: rdTI{tiapi.NewClient(e.tiURL, rdKey)}, Catalog: e.catalog, Clock: e.clock, Logger: logger}
		w := &examgate.Worker{Store: store, Clock: e.clock, Logger: logger, Idle: 5 * time.Millisecond}
		w.Handle(examgate.JobTIResult, func(ctx context.Context, job *examgate.QueuedJob) error {
			handled[i].Add(1)
			return d.HandleResult(ctx, job)
		})
		w.Handle(examgate.JobTIReset, d.HandleReset)
		wg.Go(func() {
			if err := w.Run(ctx); err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}

	// Poll the job table until every post and reset is done.
	want := nResults + failed
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := first.Jobs(ctx, examgate.JobFilter{State: examgate.JobDone, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(done) == want {
			break
		}
		if bad, _ := first.Jobs(ctx, examgate.JobFilter{State: examgate.JobFailed}); len(bad) > 0 {
			t.Fatalf("%d deliveries failed, first: %+v\nlogs:\n%s", len(bad), bad[0], logs.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d jobs done after 60s\nlogs:\n%s", len(done), want, logs.String())
		}
		<-tick.C
	}
	cancel()
	wg.Wait()

	all, err := first.Jobs(context.Background(), examgate.JobFilter{Limit: 500})
	if err != nil || len(all) != want {
		t.Fatalf("%d jobs in the table, want %d (%v)", len(all), want, err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.overlaps) > 0 {
		t.Errorf("requests for one learner were in flight at once: %q", tr.overlaps)
	}
	if len(tr.posts) != nResults {
		t.Errorf("%d learners got a post, want %d", len(tr.posts), nResults)
	}
	for i, l := range learners {
		if n := tr.posts[rdCatalogAssignment+"/"+l.user.ID]; n != 1 {
			t.Errorf("learner %d: %d result posts, want exactly 1", i, n)
		}
		wantResets := 0
		if i%3 == 0 {
			wantResets = 1
			post := slices.Index(tr.order, "post "+l.user.ID)
			reset := slices.Index(tr.order, "reset "+l.user.ID)
			if post < 0 || reset < post {
				t.Errorf("learner %d: reset at %d, post at %d", i, reset, post)
			}
		}
		if n := tr.resets[l.user.ID]; n != wantResets {
			t.Errorf("learner %d: %d resets, want %d", i, n, wantResets)
		}
	}
	for _, p := range e.fake.Posted() {
		if p.Status != http.StatusFound && p.Status != http.StatusOK {
			t.Errorf("TI answered %d to %s", p.Status, p.Path)
		}
	}
	if got := handled[0].Load() + handled[1].Load(); got != nResults {
		t.Errorf("result jobs handled %d times, want %d", got, nResults)
	}
	if s := logs.String(); s != "" {
		t.Errorf("workers logged warnings or errors:\n%s", s)
	}
	t.Logf("result jobs per worker: %d and %d", handled[0].Load(), handled[1].Load())
}

// TestDeliveryPacing queues 500 results at once and delivers them through a
// client paced at TI's 120 requests a minute, on a virtual clock that the
// pacer's waits advance.
func TestDeliveryPacing(t *testing.T) {
	const nResults, perMinute = 500, 120
	tr := newRDTraffic()
	e := newRDEnv(t, dbtest.OpenSQLite(t), tr.wrap)
	tr.now = e.clock.Now
	var waits atomic.Int64
	e.client.Pace = tiapi.NewPacer(perMinute, e.clock, func(ctx context.Context, d time.Duration) error {
		waits.Add(1)
		e.clock.Add(d)
		return ctx.Err()
	})
	for range nResults {
		e.sit(t, e.learner(t, true, ""), true)
	}
	start := e.clock.Now()
	if n := e.drain(t); n != nResults {
		t.Fatalf("%d jobs ran, want %d", n, nResults)
	}
	done, err := e.store.Jobs(context.Background(), examgate.JobFilter{State: examgate.JobDone, Limit: 500})
	if err != nil || len(done) != nResults {
		t.Fatalf("%d jobs done (%v)", len(done), err)
	}

	tr.mu.Lock()
	times := slices.Clone(tr.times)
	posts := len(tr.posts)
	tr.mu.Unlock()
	if len(times) != nResults || posts != nResults {
		t.Fatalf("%d posts reached TI for %d learners, want %d each", len(times), posts, nResults)
	}
	// No 60-second window [t, t+60s) holds more than the allowance.
	busiest := 0
	for i, j := 0, 0; i < len(times); i++ {
		if i > 0 && times[i].Before(times[i-1]) {
			t.Fatalf("post %d arrived at %v, before post %d at %v", i, times[i], i-1, times[i-1])
		}
		for j < len(times) && times[j].Sub(times[i]) < time.Minute {
			j++
		}
		busiest = max(busiest, j-i)
	}
	if busiest > perMinute {
		t.Fatalf("%d posts in one 60-second window, allowed %d", busiest, perMinute)
	}
	total := times[len(times)-1].Sub(start)
	if least := time.Duration(nResults-1) * time.Minute / perMinute; total < least {
		t.Fatalf("500 posts took %v of virtual time, want at least %v", total, least)
	}
	t.Logf("500 posts over %v of virtual time, at most %d in a minute, %d waits", total, busiest, waits.Load())
}
