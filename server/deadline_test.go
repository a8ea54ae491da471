package server_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi/titest"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// A request whose statement waits past its deadline (a table held by a
// lock, a pool with no free connection) answers 503 UNAVAILABLE with
// Retry-After, instead of holding the learner until the write timeout.
func TestGraphQLDeadline(t *testing.T) {
	t.Run("stalled store", func(t *testing.T) {
		e := newEnvWithCatalog(t, dbtest.OpenSQLite(t), catalogYAML, func(d *server.Deps) {
			d.Store = stalledCandidates{d.Store}
			d.Deadlines.Learner = 100 * time.Millisecond
		})
		checkBusy(t, e)
	})
	t.Run("postgres table lock", func(t *testing.T) {
		store := dbtest.OpenPostgres(t)
		e := newEnvWithCatalog(t, store, catalogYAML, func(d *server.Deps) { d.Deadlines.Learner = 300 * time.Millisecond })
		ada := e.browser()
		e.launch(ada, "DEMO-101", e.token(nil))
		tx, err := store.Bun().BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec("LOCK TABLE candidates IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		got, status, header := graphqlStatus(t, e, ada, `{ me { email } }`)
		if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" || len(got.Errors) == 0 || got.Errors[0].Extensions["code"] != examgate.EUNAVAILABLE {
			t.Fatalf("me while candidates is locked: %d %v %+v", status, header, got.Errors)
		}
		_ = tx.Rollback()
		if got, status, _ := graphqlStatus(t, e, ada, `{ me { email } }`); status != http.StatusOK || len(got.Errors) != 0 {
			t.Fatalf("after the lock: %d %+v", status, got.Errors)
		}
	})
}

func checkBusy(t *testing.T, e *env) {
	t.Helper()
	ada := e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	got, status, header := graphqlStatus(t, e, ada, `{ me { email } }`)
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") != "5" || len(got.Errors) != 1 || got.Errors[0].Extensions["code"] != examgate.EUNAVAILABLE {
		t.Fatalf("stalled me: %d %v %+v", status, header, got.Errors)
	}
	// What does not wait on the stalled table still answers.
	if got, status, _ := graphqlStatus(t, e, ada, `{ exam(code: "DEMO-101") { title } }`); status != http.StatusOK || len(got.Errors) != 0 {
		t.Fatalf("exam while candidates stall: %d %+v", status, got.Errors)
	}
}

// graphqlStatus posts query and returns the answer with its status.
func graphqlStatus(t *testing.T, e *env, c *http.Client, query string) (gqlResponse, int, http.Header) {
	t.Helper()
	var status int
	var header http.Header
	got := e.graphqlWith(c, query, func(resp *http.Response) { status, header = resp.StatusCode, resp.Header })
	return got, status, header
}

// stalledCandidates waits on every candidate read until the request's
// deadline, as a locked table would.
type stalledCandidates struct{ examgate.Store }

func (s stalledCandidates) CandidateByID(ctx context.Context, id int64) (*examgate.Candidate, error) {
	<-ctx.Done()
	return nil, examgate.Wrap(examgate.EINTERNAL, ctx.Err(), "database error")
}

// A database that refuses connections is an outage (UNAVAILABLE, 503) on
// every field, never INTERNAL on one process and UNAVAILABLE on another.
func TestDatabaseRefusingIsUnavailable(t *testing.T) {
	// A real driver error: PostgreSQL's client dialling a closed port.
	closed, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:1/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.PingContext(context.Background())
	closed.Close()
	if refused == nil {
		t.Fatal("a closed port answered")
	}
	e := newEnvWithCatalog(t, dbtest.OpenSQLite(t), catalogYAML, func(d *server.Deps) {
		d.Store = refusingCandidates{Store: d.Store, err: refused}
	})
	ada := e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	got, status, header := graphqlStatus(t, e, ada, `{ me { email } }`)
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" || len(got.Errors) != 1 || got.Errors[0].Extensions["code"] != examgate.EUNAVAILABLE {
		t.Fatalf("database refusing: %d %v %+v (driver error %v)", status, header, got.Errors, refused)
	}
}

// A connection cut while a statement runs (the database restarted, a
// network device dropped it) is an outage too: the driver's error is
// UNAVAILABLE, not INTERNAL.
func TestDatabaseCutMidStatementIsUnavailable(t *testing.T) {
	dsn := dbtest.PostgresURL(t)
	proxy, through := dbtest.Through(t, dsn)
	store, err := db.Open(through)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	watch, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	failed := make(chan error, 1)
	go func() {
		// A prepared statement whose answer is being read, as an
		// autosave's is: database/sql cannot retry it elsewhere.
		st, err := store.Bun().DB.PrepareContext(context.Background(), "SELECT pg_sleep(30)::text /* cut */")
		if err != nil {
			failed <- err
			return
		}
		var v string
		failed <- st.QueryRowContext(context.Background()).Scan(&v)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		if err := watch.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)::text /* cut */%' AND state = 'active'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the statement never started")
		}
		time.Sleep(10 * time.Millisecond) // polls a condition; nothing waits on time itself
	}
	proxy.Down()
	cut := <-failed
	if cut == nil {
		t.Fatal("the statement survived its connection")
	}
	if got := examgate.Outage(examgate.Wrap(examgate.EINTERNAL, cut, "database error"), "try again"); examgate.ErrorCode(got) != examgate.EUNAVAILABLE {
		t.Fatalf("a connection cut mid-statement (%v) is %s, want UNAVAILABLE", cut, examgate.ErrorCode(got))
	}
}

type refusingCandidates struct {
	examgate.Store
	err error
}

func (s refusingCandidates) CandidateByID(ctx context.Context, id int64) (*examgate.Candidate, error) {
	return nil, s.err
}

// The fault of a table held by a lock, on PostgreSQL: requests that need
// the table take at most their class's share of the main pool and answer
// 503 within their deadline; requests that do not need it (`me`, a launch,
// one that needs only the session and the catalog) keep answering; /readyz
// reports the saturated class; and all recovers when the lock goes,
// without a restart.
func TestFaultTableLock(t *testing.T) {
	store := dbtest.OpenPostgres(t)
	e := newEnvWithCatalog(t, store, catalogYAML, func(d *server.Deps) { d.Deadlines.Learner = 2 * time.Second })
	ada := e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	const bookingsQuery = `{ bookings(examCode: "DEMO-101") { id } }`

	tx, err := store.Bun().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// More booking reads than the pool has connections.
	const reads = 25
	statuses := make(chan int, reads)
	for range reads {
		go func() {
			_, status, _ := graphqlStatus(t, e, ada, bookingsQuery)
			statuses <- status
		}()
	}
	bookings := func() db.ClassStats { return store.ClassStats()[0] }
	for deadline := time.Now().Add(5 * time.Second); bookings().InUse < db.BookingConns || bookings().Waiting < reads-db.BookingConns; {
		if time.Now().After(deadline) {
			t.Fatalf("the booking reads never all arrived: %+v", bookings())
		}
		time.Sleep(5 * time.Millisecond) // polls a condition; nothing waits on time itself
	}
	if st := store.PoolStats(); st.InUse >= st.MaxOpenConnections {
		t.Fatalf("the booking reads took the whole pool: %+v", st)
	}
	if got, status, _ := graphqlStatus(t, e, ada, `{ exam(code: "DEMO-101") { title } }`); status != http.StatusOK || len(got.Errors) != 0 {
		t.Fatalf("a request that needs only the session, with bookings locked: %d %+v", status, got.Errors)
	}
	if got, status, _ := graphqlStatus(t, e, ada, `{ me { email } }`); status != http.StatusOK || string(got.Data["me"]) != `{"email":"ada@example.com"}` {
		t.Fatalf("me with bookings locked: %d %s %+v", status, got.Data["me"], got.Errors)
	}
	again := e.browser() // another browser: a launch in Ada's would end her session
	again.Transport = userAgent{"Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"}
	if resp, body := e.launch(again, "DEMO-101", e.token(func(c *titest.LaunchToken) { c.IssuedAt = c.IssuedAt.Add(time.Second) })); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a launch with bookings locked: %d %s", resp.StatusCode, body)
	}
	resp, err := http.Get(e.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "bookings statements: saturated") || !strings.Contains(string(body), "database pool: ok") {
		t.Fatalf("/readyz with bookings locked: %d %s", resp.StatusCode, body)
	}
	for range reads {
		if status := <-statuses; status != http.StatusServiceUnavailable {
			t.Fatalf("a booking read behind the lock answered %d, want 503 within its deadline", status)
		}
	}
	_ = tx.Rollback()
	if got, status, _ := graphqlStatus(t, e, ada, bookingsQuery); status != http.StatusOK || len(got.Errors) != 0 {
		t.Fatalf("after the lock: %d %+v", status, got.Errors)
	}
}
