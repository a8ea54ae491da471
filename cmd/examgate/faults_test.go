package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/mail/mailtest"
	"github.com/examgate/examgate/tiapi/titest"
)

// The fault suite runs the real binary with its database, TI, mail server
// and a webhook receiver outside it, injects one fault at a time while
// learners use it, and reports for each: the requests answered, how long a
// request took to be told 503, how long after the fault ended everything
// worked again, and the rows lost. It asserts what must hold (no row lost,
// recovery without a restart, no request left unanswered); the times are
// reported, never asserted: they go to the test log and, with
// EXAMGATE_FAULT_REPORT=<file>, to a JSON file (one report a line).
//
// The quick faults run in every `go test`; the ones that take a deadline or
// a timeout to show (a held lock, a slow TI, a slow receiver) run with
// EXAMGATE_FAULTS=1, as `make faults` does.

const faultCatalog = `exams:
  - code: FAULT-QUIZ
    title: Fault Quiz
    eligibilityDays: 30
    ti:
      courseIds: ["course-fault"]
      courseSlug: fault-course
      assignmentId: "7c3e5a9b-2d4f-4b6a-8e1c-3f5a7b9d1e2c"
    delivery:
      onDemand: true
      durationMinutes: 60
      passMark: 50
      items:
        - {id: q1, type: truefalse, stem: "One.", correct: ["true"]}
        - {id: q2, type: truefalse, stem: "Two.", correct: ["true"]}
  - code: FAULT-BOOK
    title: Fault Booked Exam
    eligibilityDays: 30
    ti: {courseIds: ["course-fault"], courseSlug: fault-course}
    availability:
      timeZone: UTC
      slotMinutes: 30
      seats: 1000
      leadTime: 0s
      weekly: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
    policy: {checkInBefore: 30m, checkInAfter: 15m, cancelCutoff: 1h, rescheduleCutoff: 1h, maxReschedules: 3}
    delivery:
      durationMinutes: 30
      passMark: 50
      items:
        - {id: q1, type: truefalse, stem: "One.", correct: ["true"]}
`

// faultReport is what one fault measured.
type faultReport struct {
	Fault    string `json:"fault"`
	Database string `json:"database"`
	// FaultMS is how long the fault was held.
	FaultMS int64 `json:"faultMs"`
	// Requests sent to examgate while the fault was held, by outcome (a
	// steady load counts a few just before and after it too).
	Sent        int `json:"sent"`
	OK          int `json:"ok"`
	Unavailable int `json:"unavailable"` // 503 UNAVAILABLE with Retry-After
	Other       int `json:"other"`       // any other answer
	Unanswered  int `json:"unanswered"`  // no answer at all (cut, or the client gave up at 60 s)
	// Requests that do not need what failed, and how many of them were
	// answered 200 (they should keep working).
	Unaffected   int `json:"unaffected"`
	UnaffectedOK int `json:"unaffectedOk"`
	// SlowestUnaffectedMS is the longest any of those took.
	SlowestUnaffectedMS int64 `json:"slowestUnaffectedMs"`
	// Slowest503MS is the longest a request waited to be told 503.
	Slowest503MS int64 `json:"slowest503Ms"`
	// RecoverMS is the time from the end of the fault until the work that
	// failed succeeded again (a request answered 200, or every queued
	// delivery done).
	RecoverMS int64 `json:"recoverMs"`
	// RowsLost counts writes examgate acknowledged (saves answered
	// accepted, bookings made, results submitted) that are not in the
	// database or never reached their receiver after recovery.
	RowsLost int    `json:"rowsLost"`
	Notes    string `json:"notes,omitempty"`
}

func (r *faultReport) log(t *testing.T) {
	t.Helper()
	b, _ := json.Marshal(r)
	t.Logf("fault report: %s", b)
	if path := os.Getenv("EXAMGATE_FAULT_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Errorf("fault report file: %v", err)
			return
		}
		defer f.Close()
		_, _ = f.Write(append(b, '\n'))
	}
}

// onDemand skips a slow fault unless EXAMGATE_FAULTS=1.
func onDemand(t *testing.T) {
	t.Helper()
	if os.Getenv("EXAMGATE_FAULTS") != "1" {
		t.Skip("a slow fault: run it with EXAMGATE_FAULTS=1 (make faults)")
	}
}

// faultRig is one examgate process with everything it talks to under the
// test's control.
type faultRig struct {
	t        *testing.T
	proxy    *dbtest.Proxy // PostgreSQL: what examgate reaches its database through
	ti       *titest.Server
	smtp     *mailtest.Server
	hooks    *hookReceiver
	proc     *crashProc
	store    *db.DB
	learners int
}

// newFaultRig starts examgate on dsn (a PostgreSQL URL goes through a TCP
// proxy the test can close) with a fake TI, an SMTP server and a webhook
// receiver of attempt.completed and booking.created events. The test's own
// store reaches the database directly.
func newFaultRig(t *testing.T, bin, dsn string) *faultRig {
	t.Helper()
	r := &faultRig{t: t, ti: titest.New(crashKey), smtp: mailtest.Start(t), hooks: newHookReceiver(t)}
	dir := t.TempDir()
	catalog := filepath.Join(dir, "exams.yaml")
	if err := os.WriteFile(catalog, []byte(faultCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	tiSrv := httptest.NewServer(r.ti)
	t.Cleanup(tiSrv.Close)
	serveDSN := dsn
	if db.IsPostgresURL(dsn) {
		r.proxy, serveDSN = dbtest.Through(t, dsn)
	}
	store, err := db.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.store = store
	var out bytes.Buffer
	if err := run(context.Background(), []string{"webhook", "add", "--url", r.hooks.srv.URL + "/hooks", "--events", "attempt.completed,booking.created"},
		env(map[string]string{"EXAMGATE_DATABASE_URL": dsn, "EXAMGATE_WEBHOOK_ALLOW_PRIVATE": "1"}), &out, io.Discard); err != nil {
		t.Fatalf("webhook add: %v", err)
	}
	r.proc = crashStart(t, bin, "examgate", []string{
		"EXAMGATE_TI_BASE_URL=" + tiSrv.URL, "EXAMGATE_TI_API_KEY=" + crashKey, "EXAMGATE_TI_SECRETS=" + crashSecret,
		"EXAMGATE_EXAMS=" + catalog, "EXAMGATE_DATABASE_URL=" + serveDSN, "EXAMGATE_WEBHOOK_ALLOW_PRIVATE=1",
		"EXAMGATE_SMTP_URL=" + r.smtp.URL(), "EXAMGATE_MAIL_FROM=examgate <exams@example.com>",
		// The suite measures the server, not the budgets: learners share
		// one address here.
		"EXAMGATE_LEARNER_RATE_LIMIT=0",
	})
	return r
}

// learner is a signed-in browser.
type learner struct {
	n       int
	c       *http.Client
	attempt string
	seq     atomic.Int64
	// accepted is the highest clientSeq of a save answered accepted.
	accepted atomic.Int64
}

// browserClient is a client with a cookie jar that does not follow redirects.
func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// addLearner makes a learner known to TI, with a purchase of the course.
func (r *faultRig) addLearner() int {
	r.learners++
	n := r.learners
	user := r.ti.AddUser(titest.User{Email: fmt.Sprintf("l%d@example.com", n), ExternalCustomerID: fmt.Sprintf("cust-%d", n), FirstName: "L", LastName: fmt.Sprint(n)})
	r.ti.AddPurchase(titest.Purchase{UserID: user.ID, CourseID: "course-fault", Slug: "fault-course", Time: time.Now().Add(-time.Hour)})
	return n
}

// launch sends learner n's browser through a signed TI link and returns the
// status of the answer.
func (r *faultRig) launch(c *http.Client, n int, exam string) (int, error) {
	tok, err := titest.SignLaunch(crashSecret, titest.LaunchToken{
		Email: fmt.Sprintf("l%d@example.com", n), FirstName: "L", LastName: fmt.Sprint(n), ExternalCustomerID: fmt.Sprintf("cust-%d", n),
		CourseID: "course-fault", IssuedAt: time.Now(),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	resp, err := c.Get(titest.LaunchURL(r.proc.base, exam, tok))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// newLearner launches a new learner and starts the quiz.
func (r *faultRig) newLearner() *learner {
	r.t.Helper()
	l := &learner{n: r.addLearner(), c: browserClient()}
	if status, err := r.launch(l.c, l.n, "FAULT-QUIZ"); err != nil || status != http.StatusSeeOther {
		r.t.Fatalf("launch of learner %d: %d %v", l.n, status, err)
	}
	var a struct{ ID string }
	if err := json.Unmarshal(crashGraphQL(r.t, l.c, r.proc.base,
		fmt.Sprintf(`mutation { startOnDemand(input: {examCode: "FAULT-QUIZ", clientKey: "fault-start-%d"}) { id } }`, l.n))["startOnDemand"], &a); err != nil || a.ID == "" {
		r.t.Fatalf("start: %v", err)
	}
	l.attempt = a.ID
	return l
}

// outcome is one request's answer.
type outcome struct {
	kind   string
	status int // 0: no answer
	ok     bool
	took   time.Duration
	errors string // the GraphQL errors, if any
}

// gql posts a query; ok means 200 without errors.
func gql(c *http.Client, base, query string) outcome {
	start := time.Now()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return outcome{took: time.Since(start)}
	}
	defer resp.Body.Close()
	var out struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []json.RawMessage          `json:"errors"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	o := outcome{status: resp.StatusCode, took: time.Since(start)}
	o.ok = err == nil && resp.StatusCode == http.StatusOK && len(out.Errors) == 0
	if len(out.Errors) > 0 {
		b, _ := json.Marshal(out.Errors)
		o.errors = string(b)
	}
	if o.ok && strings.Contains(query, "saveAnswer") && !strings.Contains(string(out.Data["saveAnswer"]), `"accepted":true`) {
		o.ok = false
	}
	return o
}

// save autosaves the learner's next answer, remembering it when accepted.
func (l *learner) save(base string) outcome {
	seq := l.seq.Add(1)
	o := gql(l.c, base, fmt.Sprintf(`mutation { saveAnswer(input: {attemptId: %q, itemId: "q1", choices: ["%v"], clientSeq: %d}) { accepted } }`,
		l.attempt, seq%2 == 0, seq))
	o.kind = "save"
	if o.ok {
		for {
			prev := l.accepted.Load()
			if seq <= prev || l.accepted.CompareAndSwap(prev, seq) {
				break
			}
		}
	}
	return o
}

// savesLost counts the learners whose stored answer is older than the
// newest save examgate answered accepted.
func (r *faultRig) savesLost(ls []*learner) int {
	r.t.Helper()
	lost := 0
	for _, l := range ls {
		var seq int64
		err := r.store.Bun().QueryRow(`SELECT choices_seq FROM answers WHERE attempt_id = ? AND item_id = 'q1'`, l.attempt).Scan(&seq)
		if err != nil && l.accepted.Load() > 0 {
			r.t.Errorf("learner %d: no stored answer: %v", l.n, err)
			lost++
		} else if seq < l.accepted.Load() {
			r.t.Errorf("learner %d: stored save %d, but save %d was answered accepted", l.n, seq, l.accepted.Load())
			lost++
		}
	}
	return lost
}

// load runs learners' requests, each learner one at a time, until stop is
// closed, and returns every outcome. pick chooses each request.
func load(ls []*learner, stop <-chan struct{}, pick func(l *learner, i int) outcome) []outcome {
	var mu sync.Mutex
	var all []outcome
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() {
			tick := time.NewTicker(100 * time.Millisecond) // ten requests a second per learner
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				o := pick(l, i)
				mu.Lock()
				all = append(all, o)
				mu.Unlock()
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
	return all
}

// startLoad runs load until the function it returns is called; that
// returns the outcomes once the requests under way have been answered.
func startLoad(ls []*learner, pick func(l *learner, i int) outcome) (stop func() []outcome) {
	quit := make(chan struct{})
	done := make(chan []outcome)
	go func() { done <- load(ls, quit, pick) }()
	return func() []outcome {
		close(quit)
		return <-done
	}
}

// tally fills the report's request counts; affected names the kinds of
// request that need what failed.
func (rep *faultReport) tally(all []outcome, affected ...string) {
	for _, o := range all {
		rep.Sent++
		switch {
		case o.status == 0:
			rep.Unanswered++
		case o.ok:
			rep.OK++
		case o.status == http.StatusServiceUnavailable:
			rep.Unavailable++
			rep.Slowest503MS = max(rep.Slowest503MS, o.took.Milliseconds())
		default:
			rep.Other++
			rep.Notes += fmt.Sprintf("[%s answered %d %s] ", o.kind, o.status, o.errors)
		}
		isAffected := false
		for _, k := range affected {
			isAffected = isAffected || o.kind == k
		}
		if !isAffected {
			rep.SlowestUnaffectedMS = max(rep.SlowestUnaffectedMS, o.took.Milliseconds())
			rep.Unaffected++
			if o.ok {
				rep.UnaffectedOK++
			}
		}
	}
}

// until calls done every 50 ms until it reports true, for at most d, and
// returns how long that took.
func until(t *testing.T, d time.Duration, what string, done func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	crashPoll(t, d, what, done)
	return time.Since(start)
}

// TestFaults injects each fault into the real binary.
func TestFaults(t *testing.T) {
	bin := crashBuild(t)
	t.Run("database refusing connections", func(t *testing.T) { faultDatabaseRefusing(t, bin) })
	t.Run("database table locked", func(t *testing.T) { faultTableLock(t, bin, true) })
	t.Run("database write lock held (SQLite)", func(t *testing.T) { faultTableLock(t, bin, false) })
	t.Run("TI answering 429", func(t *testing.T) { faultTI(t, bin, "TI answering 429") })
	t.Run("TI down", func(t *testing.T) { faultTI(t, bin, "TI down") })
	t.Run("TI slow", func(t *testing.T) { faultTI(t, bin, "TI slow") })
	t.Run("SMTP down", func(t *testing.T) { faultSMTPDown(t, bin) })
	t.Run("webhook receiver failing", func(t *testing.T) { faultReceiver(t, bin, false) })
	t.Run("webhook receiver slow", func(t *testing.T) { faultReceiver(t, bin, true) })
}

// faultDatabaseRefusing closes PostgreSQL's port (the proxy) for a few
// seconds while learners save and read: every request is answered, with
// 503 while the database is gone, and all works again when it is back.
func faultDatabaseRefusing(t *testing.T, bin string) {
	r := newFaultRig(t, bin, dbtest.PostgresURL(t))
	ls := []*learner{r.newLearner(), r.newLearner(), r.newLearner()}
	probe := r.newLearner() // saves after the fault, beside the load
	rep := &faultReport{Fault: "database refusing connections", Database: "postgres"}
	const held = 4 * time.Second
	stop := startLoad(ls, func(l *learner, i int) outcome {
		if i%2 == 0 {
			return l.save(r.proc.base)
		}
		o := gql(l.c, r.proc.base, `{ me { email } }`)
		o.kind = "me"
		return o
	})
	downAt := time.Now()
	r.proxy.Down()
	toReady := until(t, 10*time.Second, "/readyz to report the database", func() bool {
		return readyStatus(r.proc.base) == http.StatusServiceUnavailable
	})
	time.Sleep(held) // the fault's length: nothing waits on it but the fault itself
	r.proxy.Up()
	end := time.Now()
	until(t, 60*time.Second, "a save after the database came back", func() bool { return probe.save(r.proc.base).ok })
	rep.RecoverMS = time.Since(end).Milliseconds()
	all := stop()
	rep.FaultMS = end.Sub(downAt).Milliseconds()
	rep.tally(all, "save", "me")
	rep.RowsLost = r.savesLost(append(ls, probe))
	rep.Notes += fmt.Sprintf("/readyz answered 503 %d ms after the database went", toReady.Milliseconds())
	rep.log(t)
	if rep.Unanswered > 0 || rep.Other > 0 || rep.RowsLost > 0 {
		t.Errorf("%d unanswered, %d answered neither 200 nor 503, %d rows lost", rep.Unanswered, rep.Other, rep.RowsLost)
	}
	if readyStatus(r.proc.base) != http.StatusOK {
		t.Error("/readyz still failing after the database came back")
	}
}

// faultTableLock holds bookings locked on PostgreSQL (15 s, or
// EXAMGATE_FAULT_LOCK) while learners read bookings, read me and save:
// booking reads answer 503 within their deadline, the rest keeps answering
// 200. On SQLite it holds a write transaction open from outside instead:
// every write waits for it (one writer), and with the one connection the
// store keeps, so does everything else; nothing may be lost, and all
// answers again once it ends.
func faultTableLock(t *testing.T, bin string, postgres bool) {
	onDemand(t)
	held := 15 * time.Second
	if v := os.Getenv("EXAMGATE_FAULT_LOCK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("EXAMGATE_FAULT_LOCK: %v", err)
		}
		held = d
	}
	dsn := filepath.Join(t.TempDir(), "examgate.db")
	rep := &faultReport{Fault: fmt.Sprintf("a write transaction held open for %v", held), Database: "sqlite"}
	if postgres {
		dsn = dbtest.PostgresURL(t)
		rep = &faultReport{Fault: fmt.Sprintf("bookings table locked for %v", held), Database: "postgres"}
	}
	r := newFaultRig(t, bin, dsn)
	var ls []*learner
	for range 12 { // more booking readers than their share of the pool
		ls = append(ls, r.newLearner())
	}
	locker, err := db.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	tx, err := locker.Bun().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if postgres {
		if _, err := tx.Exec("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
	} // on SQLite the transaction's BEGIN IMMEDIATE took the write lock
	start := time.Now()
	stop := startLoad(ls, func(l *learner, i int) outcome {
		var o outcome
		switch {
		case l.n%2 == 0: // half the learners read their bookings
			o = gql(l.c, r.proc.base, `{ bookings(examCode: "FAULT-BOOK") { id } }`)
			o.kind = "bookings"
		case i%2 == 0:
			o = l.save(r.proc.base)
		default:
			o = gql(l.c, r.proc.base, `{ me { email } }`)
			o.kind = "me"
		}
		return o
	})
	time.Sleep(held) // the fault's length: nothing waits on it but the fault itself
	all := stop()    // the requests under way finish (503 at their deadline)
	_ = tx.Rollback()
	end := time.Now()
	rep.FaultMS = end.Sub(start).Milliseconds()
	until(t, 30*time.Second, "a booking read after the lock", func() bool {
		return gql(ls[1].c, r.proc.base, `{ bookings(examCode: "FAULT-BOOK") { id } }`).ok
	})
	rep.RecoverMS = time.Since(end).Milliseconds()
	if postgres {
		rep.tally(all, "bookings")
	} else {
		rep.tally(all, "save")
	}
	rep.RowsLost = r.savesLost(ls)
	rep.log(t)
	if rep.Unanswered > 0 || rep.Other > 0 || rep.RowsLost > 0 || (postgres && rep.UnaffectedOK != rep.Unaffected) {
		t.Errorf("%d unanswered, %d neither 200 nor 503, %d rows lost, %d of %d requests not needing bookings answered 200",
			rep.Unanswered, rep.Other, rep.RowsLost, rep.UnaffectedOK, rep.Unaffected)
	}
}

// faultTI makes TI answer 429, refuse (503) or answer slowly while
// learners launch and results are delivered: launches answer (in, or "try
// again"), and every result reaches TI once TI is well again.
func faultTI(t *testing.T, bin, fault string) {
	if fault == "TI slow" {
		onDemand(t)
	}
	r := newFaultRig(t, bin, filepath.Join(t.TempDir(), "examgate.db"))
	ls := []*learner{r.newLearner(), r.newLearner()}
	rep := &faultReport{Fault: fault, Database: "sqlite"}
	switch fault {
	case "TI answering 429":
		r.ti.FailNext(4, http.StatusTooManyRequests, "1")
	case "TI down":
		r.ti.SetDown(true)
	case "TI slow":
		r.ti.SetLatency(10 * time.Second) // past a launch's 8 s budget
	}
	start := time.Now()
	// Both learners submit (their results go to TI) and two new learners
	// launch, while TI misbehaves.
	var all []outcome
	for _, l := range ls {
		l.save(r.proc.base)
		o := gql(l.c, r.proc.base, fmt.Sprintf(`mutation { submitAttempt(input: {attemptId: %q}) { status } }`, l.attempt))
		o.kind = "submit"
		all = append(all, o)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 2 {
		n := r.addLearner()
		wg.Go(func() {
			begin := time.Now()
			status, err := r.launch(browserClient(), n, "FAULT-QUIZ")
			o := outcome{kind: "launch", status: status, ok: err == nil && status == http.StatusSeeOther, took: time.Since(begin)}
			mu.Lock()
			all = append(all, o)
			mu.Unlock()
		})
	}
	wg.Wait()
	r.ti.SetDown(false)
	r.ti.SetLatency(0)
	end := time.Now()
	rep.FaultMS = end.Sub(start).Milliseconds()
	rep.tally(all, "launch")
	// A launch works again, and both results reach TI.
	until(t, 60*time.Second, "a launch after TI recovered", func() bool {
		status, err := r.launch(browserClient(), r.addLearner(), "FAULT-QUIZ")
		return err == nil && status == http.StatusSeeOther
	})
	delivered := func() int {
		seen := map[string]bool{}
		for _, p := range r.ti.ResultPosts() {
			if p.Status == http.StatusFound {
				seen[string(p.Body)] = true
			}
		}
		return len(seen)
	}
	crashPoll(t, 120*time.Second, "both results delivered to TI", func() bool { return delivered() >= len(ls) })
	rep.RecoverMS = time.Since(end).Milliseconds()
	rep.RowsLost = len(ls) - delivered() + r.savesLost(ls)
	slowestLaunch := time.Duration(0)
	for _, o := range all {
		if o.kind == "launch" {
			slowestLaunch = max(slowestLaunch, o.took)
		}
	}
	rep.Notes = fmt.Sprintf("slowest launch during the fault: %d ms", slowestLaunch.Milliseconds())
	rep.log(t)
	if rep.Unanswered > 0 || rep.RowsLost > 0 || rep.UnaffectedOK != rep.Unaffected {
		t.Errorf("%d unanswered, %d rows lost, %d of %d submits answered 200", rep.Unanswered, rep.RowsLost, rep.UnaffectedOK, rep.Unaffected)
	}
}

// faultSMTPDown books slots while the mail server refuses: the bookings
// are made at once, and every confirmation goes out once it is back.
func faultSMTPDown(t *testing.T, bin string) {
	r := newFaultRig(t, bin, filepath.Join(t.TempDir(), "examgate.db"))
	rep := &faultReport{Fault: "SMTP down", Database: "sqlite"}
	r.smtp.SetDown(true)
	start := time.Now()
	const bookings = 3
	var all []outcome
	for i := range bookings {
		c := browserClient()
		n := r.addLearner()
		if status, err := r.launch(c, n, "FAULT-BOOK"); err != nil || status != http.StatusSeeOther {
			t.Fatalf("launch: %d %v", status, err)
		}
		slot := time.Now().UTC().Truncate(30 * time.Minute).Add(time.Duration(i+2) * 30 * time.Minute)
		o := gql(c, r.proc.base, fmt.Sprintf(`mutation { bookSlot(input: {examCode: "FAULT-BOOK", startsAt: %q, clientKey: "fault-book-%d"}) { id } }`,
			slot.Format(time.RFC3339), n))
		o.kind = "book"
		all = append(all, o)
	}
	// The worker has met the refusal before the mail server comes back.
	crashPoll(t, 30*time.Second, "a booking email to fail", func() bool {
		var n int
		_ = r.store.Bun().QueryRow(`SELECT count(*) FROM jobs WHERE kind = ? AND last_error <> ''`, examgate.JobBookingEmail).Scan(&n)
		return n > 0
	})
	r.smtp.SetDown(false)
	end := time.Now()
	rep.FaultMS = end.Sub(start).Milliseconds()
	rep.tally(all)
	crashPoll(t, 120*time.Second, "every booking confirmed by email", func() bool { return len(r.smtp.Messages()) >= bookings })
	rep.RecoverMS = time.Since(end).Milliseconds()
	rep.RowsLost = bookings - len(r.smtp.Messages())
	rep.log(t)
	if rep.OK != bookings || rep.RowsLost > 0 {
		t.Errorf("%d of %d bookings answered 200 with the mail server down; %d emails lost", rep.OK, bookings, rep.RowsLost)
	}
}

// faultReceiver makes the webhook receiver fail (503, Retry-After: 1) or
// take 12 s (past the 10 s timeout) for a while: learners' requests do not
// wait on it, and every event arrives once it is well again.
func faultReceiver(t *testing.T, bin string, slow bool) {
	fault := "webhook receiver failing (503)"
	if slow {
		onDemand(t)
		fault = "webhook receiver slow (12 s)"
	}
	r := newFaultRig(t, bin, filepath.Join(t.TempDir(), "examgate.db"))
	rep := &faultReport{Fault: fault, Database: "sqlite"}
	if slow {
		r.hooks.setDelay(12 * time.Second)
	} else {
		r.hooks.setFailing(true)
	}
	start := time.Now()
	ls := []*learner{r.newLearner(), r.newLearner()}
	var all []outcome
	for _, l := range ls {
		all = append(all, l.save(r.proc.base))
		o := gql(l.c, r.proc.base, fmt.Sprintf(`mutation { submitAttempt(input: {attemptId: %q}) { status } }`, l.attempt))
		o.kind = "submit"
		all = append(all, o)
	}
	crashPoll(t, 60*time.Second, "the receiver to be tried", func() bool { return r.hooks.tries() > 0 })
	r.hooks.setDelay(0)
	r.hooks.setFailing(false)
	end := time.Now()
	rep.FaultMS = end.Sub(start).Milliseconds()
	rep.tally(all)
	crashPoll(t, 120*time.Second, "every event delivered", func() bool { return r.hooks.delivered() >= len(ls) })
	rep.RecoverMS = time.Since(end).Milliseconds()
	rep.RowsLost = len(ls) - r.hooks.delivered() + r.savesLost(ls)
	rep.Notes = fmt.Sprintf("receiver tried %d times", r.hooks.tries())
	rep.log(t)
	if rep.OK != rep.Sent || rep.RowsLost > 0 {
		t.Errorf("%d of %d learner requests answered 200 while the receiver misbehaved; %d lost", rep.OK, rep.Sent, rep.RowsLost)
	}
}

func readyStatus(base string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// hookReceiver is a partner's webhook endpoint that can fail or be slow.
type hookReceiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	failing bool
	delay   time.Duration
	n       int             // requests received
	events  map[string]bool // event ids answered 200
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{events: map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		h.n++
		failing, delay := h.failing, h.delay
		h.mu.Unlock()
		if delay > 0 {
			select { // a receiver that takes its time, until examgate hangs up
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if failing {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		h.mu.Lock()
		h.events[r.Header.Get("X-Examgate-Event-Id")] = true
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setFailing(on bool) { h.mu.Lock(); h.failing = on; h.mu.Unlock() }

func (h *hookReceiver) setDelay(d time.Duration) { h.mu.Lock(); h.delay = d; h.mu.Unlock() }

func (h *hookReceiver) tries() int { h.mu.Lock(); defer h.mu.Unlock(); return h.n }

// delivered counts the attempt.completed events answered 200 (booking
// events of the rig's launches are not made: no learner here books).
func (h *hookReceiver) delivered() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.events) }
