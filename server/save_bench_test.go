package server_test

// BenchmarkSaveAnswer measures the answer autosave end to end: the GraphQL
// mutation saveAnswer sent over real loopback HTTP to the real handler, with
// the session cookie of a launched learner, against a SQLite file in WAL
// mode and against PostgreSQL. docs/performance.md ("Answer autosave")
// explains how to run it and how to read the numbers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/graph"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

const (
	saveSecret     = "save-launch-secret"
	saveAPIKey     = "save-ti-api-key"
	saveExam       = "SAVE-1"
	saveCourse     = "course-save-1"
	saveSkew       = 500 * time.Second
	saveCandidates = 200 // learners with an open attempt, as in a cohort
	saveItems      = 20
	// saveMutation is the browser's autosave request, word for word as
	// it sends it (the generated frontend/src/gql/graphql.ts).
	saveMutation = graph.SaveAnswerDocument
)

// saveNow is the fixed time of the benchmark: the attempts last 180 minutes
// from it, so however long a run takes, no attempt times out.
var saveNow = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// saveCatalog is one on-demand exam of 180 minutes with saveItems
// single-choice items of four options each.
func saveCatalog() string {
	var s strings.Builder
	fmt.Fprintf(&s, `exams:
  - code: %s
    title: Autosave Benchmark Exam
    eligibilityDays: 90
    ti:
      courseIds: [%q]
      courseSlug: save-course
      assignmentId: c4e8a2f6-1d3b-4f5a-9c7e-2b4d6f8a0c1e
    delivery:
      onDemand: true
      durationMinutes: 180
      passMark: 50
      items:
`, saveExam, saveCourse)
	for i := 1; i <= saveItems; i++ {
		fmt.Fprintf(&s, "        - {id: q%d, type: single, stem: \"Question %d\", options: [{id: a, text: A}, {id: b, text: B}, {id: c, text: C}, {id: d, text: D}], correct: [b]}\n", i, i)
	}
	return s.String()
}

// saveLearner is one launched learner with an open attempt. mu keeps one
// save of the learner in flight at a time, as the browser's save queue does,
// so that clientSeq reaches the server in order and every save is accepted.
type saveLearner struct {
	mu        sync.Mutex
	cookie    string // the session cookie, name=value
	attemptID string
	seq       atomic.Int64
}

// saveEnv is the examgate handler wired as cmd/examgate wires it, behind a
// real loopback HTTP server, with a fake TI behind another.
type saveEnv struct {
	handler  http.Handler // the same handler, for in-process benchmarks
	url      string
	client   *http.Client
	learners []*saveLearner
}

func saveSetup(b *testing.B, store *db.DB, set ...func(*server.Deps)) *saveEnv {
	b.Helper()
	catalog, err := examgate.ParseCatalog([]byte(saveCatalog()))
	if err != nil {
		b.Fatal(err)
	}
	fake := titest.New(saveAPIKey)
	tiSrv := httptest.NewServer(fake)
	b.Cleanup(tiSrv.Close)

	clock := examgate.ClockFunc(func() time.Time { return saveNow })
	// Production logs JSON to stdout; formatting is kept, the write is not.
	logger := slog.New(server.LogHandler{Handler: slog.NewJSONHandler(io.Discard, nil)})
	ti := tiapi.NewClient(tiSrv.URL, saveAPIKey)
	ti.Logger = logger
	base, _ := url.Parse("http://127.0.0.1:8080")
	attempts := &examgate.Attempts{Store: store, Catalog: catalog, Clock: clock, Logger: logger, ResultJobs: examgate.TIResultJobs}
	deps := server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Verifier: tiapi.NewLaunchVerifier([]string{saveSecret}, saveSkew, clock),
		Launcher: &examgate.Launcher{
			Store: store, TI: ti, Catalog: catalog, Clock: clock, Logger: logger,
			ReplayWindow: 2 * saveSkew,
		},
		Bookings: &examgate.Bookings{Store: store, Catalog: catalog, Clock: clock, Logger: logger, Attempts: attempts},
		Attempts: attempts,
	}
	for _, f := range set {
		f(&deps)
	}
	h := server.New(deps)
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)

	// Every learner's browser has a connection of its own, as in production.
	transport := &http.Transport{Proxy: nil, MaxIdleConns: 2 * saveCandidates, MaxIdleConnsPerHost: 2 * saveCandidates}
	b.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{
		Transport:     transport,
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	e := &saveEnv{handler: h, url: srv.URL, client: client}
	for i := range saveCandidates {
		l, err := e.saveLaunch(fake, i)
		if err != nil {
			b.Fatal(err)
		}
		e.learners = append(e.learners, l)
	}
	return e
}

// saveLaunch creates a TI learner who bought the course, launches them with a
// signed token, and starts their attempt over GraphQL.
func (e *saveEnv) saveLaunch(fake *titest.Server, i int) (*saveLearner, error) {
	email := fmt.Sprintf("saver%d@example.com", i)
	u := fake.AddUser(titest.User{Email: email, ExternalCustomerID: fmt.Sprintf("saver-%d", i), FirstName: "Ada", LastName: "Lovelace"})
	fake.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: saveCourse, Slug: "save-course", SKU: saveExam, Time: saveNow.AddDate(0, 0, -10)})
	tok, err := titest.SignLaunch(saveSecret, titest.LaunchToken{
		Email: email, FirstName: "Ada", LastName: "Lovelace", ExternalCustomerID: u.ExternalCustomerID,
		CourseID: saveCourse, AssignmentID: "c4e8a2f6-1d3b-4f5a-9c7e-2b4d6f8a0c1e", IssuedAt: saveNow, ExpiresAt: saveNow.Add(time.Hour),
	})
	if err != nil {
		return nil, err
	}
	resp, err := e.client.Get(titest.LaunchURL(e.url, saveExam, tok))
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l := &saveLearner{}
	for _, c := range resp.Cookies() {
		if c.Name == server.SessionCookie {
			l.cookie = c.Name + "=" + c.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || l.cookie == "" {
		return nil, fmt.Errorf("launch of learner %d answered %d without a session cookie", i, resp.StatusCode)
	}
	var started struct {
		StartOnDemand struct{ ID string } `json:"startOnDemand"`
	}
	err = e.saveGraphQL(l, `mutation PlayerStartOnDemand($input: StartOnDemandInput!) { startOnDemand(input: $input) { id status } }`,
		map[string]any{"input": map[string]string{"examCode": saveExam, "clientKey": fmt.Sprintf("start-%d", i)}}, &started)
	if err != nil {
		return nil, fmt.Errorf("start of learner %d: %w", i, err)
	}
	l.attemptID = started.StartOnDemand.ID
	return l, nil
}

// saveGraphQL posts one operation as the browser does, with the learner's
// session cookie, and decodes its data into out; GraphQL errors are errors.
func (e *saveEnv) saveGraphQL(l *saveLearner, query string, variables map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", l.cookie)
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || len(res.Errors) > 0 {
		return fmt.Errorf("HTTP %d: errors %+v", resp.StatusCode, res.Errors)
	}
	return json.Unmarshal(res.Data, out)
}

// saveOnce saves a random choice for a random item of l's attempt with the
// learner's next clientSeq, and checks that the save was accepted.
func (e *saveEnv) saveOnce(l *saveLearner) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := l.seq.Add(1)
	item := fmt.Sprintf("q%d", 1+rand.IntN(saveItems))
	choice := string(rune('a' + rand.IntN(4)))
	var saved struct {
		SaveAnswer struct {
			ItemID    string `json:"itemId"`
			ClientSeq int64  `json:"clientSeq"`
			Accepted  bool   `json:"accepted"`
		} `json:"saveAnswer"`
	}
	err := e.saveGraphQL(l, saveMutation, map[string]any{"input": map[string]any{
		"attemptId": l.attemptID, "itemId": item, "choices": []string{choice}, "clientSeq": seq,
	}}, &saved)
	if err != nil {
		return err
	}
	if a := saved.SaveAnswer; !a.Accepted || a.ItemID != item || a.ClientSeq != seq {
		return fmt.Errorf("save %s seq %d answered %+v, want it accepted", item, seq, a)
	}
	return nil
}

// saveWarmUp has every learner save once, all at once, so that the timed
// part starts with the connections a cohort keeps open (HTTP keep-alive, the
// database pool) instead of opening them: each b.N round gets a new server.
func (e *saveEnv) saveWarmUp(b *testing.B) {
	b.Helper()
	errs := make(chan error, len(e.learners))
	for _, l := range e.learners {
		go func() { errs <- e.saveOnce(l) }()
	}
	for range e.learners {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveAnswer runs saveCandidates concurrent learners (one goroutine
// each, at any GOMAXPROCS), each sending its next save as soon as the
// previous one is answered: the ceiling of the save path, not the paced load
// of a real cohort (cmd/loadsave does both). ns/op is wall time divided by
// saves; saves/s is its inverse; p50-ms, p99-ms and max-ms are the latency
// of one save as the client sees it. Client and server share the CPUs.
func BenchmarkSaveAnswer(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) *db.DB
	}{
		// A file, not :memory:, because production SQLite is a WAL file.
		{"sqlite", func(b *testing.B) *db.DB { s, _ := dbtest.OpenSQLiteFile(b); return s }},
		{"postgres", func(b *testing.B) *db.DB { return dbtest.OpenPostgres(b) }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			store := st.open(b)
			e := saveSetup(b, store)
			e.saveWarmUp(b)
			stmts := &statementCounter{}
			store.Bun().AddQueryHook(stmts)
			procs := runtime.GOMAXPROCS(0)
			goroutines := (saveCandidates + procs - 1) / procs * procs
			var next atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(goroutines / procs)
			b.ReportAllocs()
			b.ResetTimer()
			stmts.reset()
			commits0, _ := store.SaveStats()
			prepared0 := store.PreparedRuns()
			cpu0 := cpuTime()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				// Goroutine g owns learners g, g+goroutines, …; with
				// saveCandidates goroutines, exactly one each.
				g := int(next.Add(1)-1) % saveCandidates
				var own []*saveLearner
				for i := g; i < saveCandidates; i += goroutines {
					own = append(own, e.learners[i])
				}
				mine := make([]time.Duration, 0, 1024)
				defer func() {
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}()
				for pb.Next() {
					t := time.Now()
					if err := e.saveOnce(own[rand.IntN(len(own))]); err != nil {
						b.Error(err) // Fatal must not be called off the benchmark goroutine
						return
					}
					mine = append(mine, time.Since(t))
				}
			})
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			n := float64(len(lat))
			b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/save")
			// The guarded upsert and the session read run as prepared
			// statements, which bun's hook does not see: PreparedRuns
			// counts them, and SaveStats the commits of saves (a group's on
			// SQLite, each save's own on PostgreSQL).
			commits, _ := store.SaveStats()
			b.ReportMetric(float64(stmts.n.Load()+store.PreparedRuns()-prepared0)/n, "stmts/save")
			b.ReportMetric(float64(commits-commits0)/n, "commits/save")
			slices.Sort(lat)
			pct := func(p int) float64 { return float64(lat[max(0, (len(lat)*p+99)/100-1)]) / 1e6 }
			b.ReportMetric(n/elapsed.Seconds(), "saves/s")
			b.ReportMetric(pct(50), "p50-ms")
			b.ReportMetric(pct(99), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
		})
	}
}

// cpuTime is the CPU time (user and system) this process has used so far:
// the server, the client and the SQLite engine, not the PostgreSQL server.
// Unlike wall time it barely moves when other work shares the CPUs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSaveSteps times the database calls of one save, to show where the
// time of BenchmarkSaveAnswer goes. A save reads the session (withSession,
// every request), then db.SaveIfOpen writes the answer in one guarded
// statement (inside a group-commit transaction on SQLite). Here session is
// the session read, save is db.SaveIfOpen from one goroutine (one commit
// per save), save-200 runs it from saveCandidates goroutines at once (on
// SQLite they share commits), and fallback is db.SaveChoices, the
// transaction (open check, upsert, read-back) that answers the saves
// SaveIfOpen does not write.
func BenchmarkSaveSteps(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) *db.DB
	}{
		{"sqlite", func(b *testing.B) *db.DB { s, _ := dbtest.OpenSQLiteFile(b); return s }},
		{"postgres", func(b *testing.B) *db.DB { return dbtest.OpenPostgres(b) }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			store := st.open(b)
			ctx := b.Context()
			hashes, attempts := saveSeed(b, store)
			var seq atomic.Int64
			seq.Store(saveItems) // above the seeded answers' clientSeq
			item := func(i int) string { return fmt.Sprintf("q%d", 1+i%saveItems) }
			save := func(i int) error {
				a := attempts[i%saveCandidates]
				_, wrote, err := store.SaveIfOpen(ctx, examgate.SaveGuard{AttemptID: a.ID, CandidateID: a.CandidateID, ExamCode: saveExam, NotBefore: saveNow},
					examgate.Answer{ItemID: item(i / saveCandidates), Choices: []string{"b"}, ClientSeq: seq.Add(1), SavedAt: saveNow}, false)
				if err == nil && !wrote {
					err = fmt.Errorf("save %d not written", i)
				}
				return err
			}
			steps := []struct {
				name string
				fn   func(i int) error
			}{
				{"session", func(i int) error {
					_, err := store.SessionByTokenHash(ctx, hashes[i%saveCandidates], saveNow)
					return err
				}},
				{"save", save},
				{"fallback", func(i int) error {
					_, err := store.SaveChoices(ctx, attempts[i%saveCandidates].ID, examgate.Answer{
						ItemID: item(i / saveCandidates), Choices: []string{"b"}, ClientSeq: seq.Add(1), SavedAt: saveNow,
					})
					return err
				}},
			}
			for _, s := range steps {
				b.Run(s.name, func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if err := s.fn(i); err != nil {
							b.Fatal(err)
						}
						i++
					}
				})
			}
			b.Run("save-200", func(b *testing.B) {
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				procs := runtime.GOMAXPROCS(0)
				b.SetParallelism((saveCandidates + procs - 1) / procs)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := next.Add(1) - 1
						t := time.Now()
						if err := save(int(i)); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(t)
					}
				})
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1])/1e6, "p99-ms")
			})
		})
	}
}

// saveSeed stores saveCandidates signed-in candidates, each with an open
// attempt holding an answer to every item, and returns their session token
// hashes and attempts.
func saveSeed(b *testing.B, store *db.DB) (hashes []string, attempts []*examgate.Attempt) {
	b.Helper()
	ctx := b.Context()
	for i := range saveCandidates {
		id := fmt.Sprintf("seed-%d", i)
		c, err := store.CompleteLaunch(ctx, &examgate.LaunchRecord{
			TokenID: "token-" + id, TokenExpiresAt: saveNow.Add(time.Hour),
			Candidate: examgate.Candidate{ExternalID: "cust-" + id, Email: id + "@example.com",
				FirstName: "Ada", LastName: "Lovelace", TIUserID: "ti-" + id},
			Eligibility: examgate.Eligibility{ExamCode: saveExam, CourseID: saveCourse, AssignmentID: "c4e8a2f6-1d3b-4f5a-9c7e-2b4d6f8a0c1e",
				PurchasedAt: saveNow.AddDate(0, 0, -10), EndsAt: saveNow.AddDate(0, 0, 80), CheckedAt: saveNow},
			Session: examgate.Session{TokenHash: "hash-" + id, CreatedAt: saveNow, ExpiresAt: saveNow.Add(examgate.SessionLifetime)},
		})
		if err != nil {
			b.Fatal(err)
		}
		a, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: c.ID, ExamCode: saveExam, Seed: int64(i),
			StartedAt: saveNow, Deadline: saveNow.Add(180 * time.Minute), Status: examgate.AttemptOpen}, nil,
			examgate.Request{CandidateID: c.ID, ClientKey: "start-" + id, Action: examgate.ActionStart, At: saveNow}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for j := 1; j <= saveItems; j++ {
			if _, err := store.SaveChoices(ctx, a.ID, examgate.Answer{ItemID: fmt.Sprintf("q%d", j), Choices: []string{"a"}, ClientSeq: int64(j), SavedAt: saveNow}); err != nil {
				b.Fatal(err)
			}
		}
		hashes = append(hashes, "hash-"+id)
		attempts = append(attempts, a)
	}
	return hashes, attempts
}
