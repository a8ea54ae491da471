// Command perfref is the bare reference for examgate's hot paths: each
// handler does only the work its path cannot avoid, with the same database
// driver, connection settings and tables as examgate, and nothing else (no
// GraphQL, no middleware, no rate limits, no logging). cmd/perfratio runs
// the same load against it and against examgate and prints the ratios.
//
//	perfref -db /tmp/examgate.db -addr 127.0.0.1:18282
//
// It opens the database with db.Open, so SQLite gets examgate's pragmas
// (WAL, synchronous=FULL, one connection) and PostgreSQL the same pgx
// driver and pools (autosaves on the pool of their own, HotConns
// connections), and it migrates as examgate does. Routes:
//
//	POST /save       {"attemptId","itemId","choices","clientSeq"}: upsert one
//	                 answer row (newer clientSeq wins), prepared statement with
//	                 bound arguments; on SQLite concurrent saves share one
//	                 commit, as examgate's do.
//	GET  /launch?jwt= check an HS256 token, record its id (used once), find the
//	                 candidate by externalCustomerId, insert a session, set the
//	                 cookie and answer 303.
//	POST /dashboard  the rows of the learner dashboard (session, candidate,
//	                 eligibility, bookings with their attempts, attempts used
//	                 and any pass, latest result) for the session cookie, as
//	                 JSON.
//	POST /hello      decode a JSON body and answer {"data":{"__typename":"Query"}}.
//	GET  /healthz    200.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "perfref:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("perfref", flag.ContinueOnError)
	dsn := fs.String("db", "", "database: a SQLite file or a postgres:// URL (as EXAMGATE_DATABASE_URL)")
	addr := fs.String("addr", "127.0.0.1:18282", "listen address")
	secret := fs.String("secret", "demo-launch-secret", "HS256 secret of the launch tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("-db is required")
	}
	store, err := db.Open(*dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	ref, err := newRef(ctx, store.Bun().DB, store.HotPool(), store.Postgres(), []byte(*secret))
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: ref.routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type ref struct {
	pool     *sql.DB
	hot      *sql.DB // autosaves run here, as examgate's do
	postgres bool
	secret   []byte
	stmts    map[string]*sql.Stmt
	saves    chan *save // SQLite: the group commit's queue
}

const (
	qSave = `INSERT INTO answers (attempt_id, item_id, choices, choices_seq, saved_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (attempt_id, item_id) DO UPDATE SET choices = excluded.choices, choices_seq = excluded.choices_seq, saved_at = excluded.saved_at
		WHERE answers.choices_seq < excluded.choices_seq`
	qToken     = `INSERT INTO used_launch_tokens (token_id, used_at, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	qCandByExt = `SELECT id FROM candidates WHERE external_id = ?`
	qSession   = `INSERT INTO sessions (token_hash, candidate_id, created_at, expires_at, browser, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)`
	qSessRead  = `SELECT candidate_id FROM sessions WHERE token_hash = ? AND expires_at > ? AND last_seen_at > ?`
	qCandRead  = `SELECT id, email, first_name, last_name, name FROM candidates WHERE id = ?`
	qEligRead  = `SELECT ends_at, closed_at FROM eligibilities WHERE candidate_id = ? AND exam_code = ?`
	qBookRead  = `SELECT b.id, b.status, b.starts_at, b.ends_at, b.time_zone, b.updated_at, a.id
		FROM bookings b LEFT JOIN attempts a ON a.booking_id = b.id
		WHERE b.candidate_id = ? AND b.exam_code = ? ORDER BY b.created_at DESC, b.id DESC LIMIT 100`
	// qStanding is the attempts used and any pass, for the attempts left.
	qStanding = `SELECT (SELECT count(*) FROM attempts WHERE candidate_id = ? AND exam_code = ?),
		EXISTS (SELECT 1 FROM results WHERE candidate_id = ? AND exam_code = ? AND passed)`
	qResRead = `SELECT attempt_id, percent, passed FROM results WHERE candidate_id = ? AND exam_code = ?
		ORDER BY created_at DESC, id DESC LIMIT 1`
)

func newRef(ctx context.Context, pool, hot *sql.DB, postgres bool, secret []byte) (*ref, error) {
	r := &ref{pool: pool, hot: hot, postgres: postgres, secret: secret, stmts: map[string]*sql.Stmt{}}
	saveStmt, err := hot.PrepareContext(ctx, r.text(qSave))
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", qSave, err)
	}
	r.stmts[qSave] = saveStmt
	for _, q := range []string{qToken, qCandByExt, qSession, qSessRead, qCandRead, qEligRead, qBookRead, qStanding, qResRead} {
		st, err := pool.PrepareContext(ctx, r.text(q))
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		r.stmts[q] = st
	}
	if !postgres {
		r.saves = make(chan *save, 4096)
		go r.commitSaves()
	}
	return r, nil
}

// text is q for this database.
func (r *ref) text(q string) string {
	if r.postgres {
		return numbered(q)
	}
	return q
}

// numbered turns ? placeholders into PostgreSQL's $1, $2, …
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ts is a time as examgate stores it: text on SQLite (bun's format, so that
// comparisons with examgate's rows hold), a timestamp on PostgreSQL.
func (r *ref) ts(t time.Time) any {
	if r.postgres {
		return t.UTC()
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
}

func (r *ref) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /save", r.handleSave)
	mux.HandleFunc("GET /launch", r.handleLaunch)
	mux.HandleFunc("POST /dashboard", r.handleDashboard)
	mux.HandleFunc("POST /hello", handleHello)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func handleHello(w http.ResponseWriter, req *http.Request) {
	var in struct {
		Query string `json:"query"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]string{"__typename": "Query"}})
}

// save is one autosave on its way through the group commit.
type save struct {
	args  []any
	wrote bool
	err   error
	done  chan struct{}
}

func (r *ref) handleSave(w http.ResponseWriter, req *http.Request) {
	var in struct {
		AttemptID string   `json:"attemptId"`
		ItemID    string   `json:"itemId"`
		Choices   []string `json:"choices"`
		ClientSeq int64    `json:"clientSeq"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 64<<10)).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	attempt, err := strconv.ParseInt(in.AttemptID, 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	choices, _ := json.Marshal(in.Choices)
	s := &save{args: []any{attempt, in.ItemID, string(choices), in.ClientSeq, r.ts(time.Now())}}
	if r.postgres {
		var res sql.Result
		if res, s.err = r.stmts[qSave].ExecContext(req.Context(), s.args...); s.err == nil {
			n, _ := res.RowsAffected()
			s.wrote = n > 0
		}
	} else {
		s.done = make(chan struct{})
		r.saves <- s
		<-s.done
	}
	if s.err != nil {
		fail(w, http.StatusInternalServerError, s.err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"itemId": in.ItemID, "choices": in.Choices, "clientSeq": in.ClientSeq, "accepted": s.wrote})
}

// commitSaves is SQLite's group commit: the saves queued while a batch
// commits make the next batch, one transaction and one fsync for all.
func (r *ref) commitSaves() {
	for first := range r.saves {
		batch := []*save{first}
	more:
		for len(batch) < 256 {
			select {
			case s := <-r.saves:
				batch = append(batch, s)
			default:
				break more
			}
		}
		err := r.commitBatch(batch)
		for _, s := range batch {
			if s.err == nil {
				s.err = err
			}
			close(s.done)
		}
	}
}

func (r *ref) commitBatch(batch []*save) error {
	ctx := context.Background()
	tx, err := r.hot.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	st := tx.StmtContext(ctx, r.stmts[qSave])
	for _, s := range batch {
		res, err := st.ExecContext(ctx, s.args...)
		if err != nil {
			_ = tx.Rollback()
			return err
		}
		n, _ := res.RowsAffected()
		s.wrote = n > 0
	}
	return tx.Commit()
}

// launchClaims are the claims of a TI launch token the launch needs.
type launchClaims struct {
	ExternalCustomerID string `json:"externalCustomerId"`
	IssuedAt           int64  `json:"iat"`
}

// verify checks an HS256 token and returns its claims and its id (the hash
// of the token, as examgate uses).
func (r *ref) verify(token string) (*launchClaims, string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, "", errors.New("not a JWT")
	}
	var head struct {
		Alg string `json:"alg"`
	}
	if raw, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(raw, &head) != nil || head.Alg != "HS256" {
		return nil, "", errors.New("not an HS256 token")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, "", err
	}
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(token[:len(parts[0])+1+len(parts[1])]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, "", errors.New("bad signature")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, "", err
	}
	var c launchClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, "", err
	}
	if d := time.Since(time.Unix(c.IssuedAt, 0)); d > 500*time.Second || d < -500*time.Second {
		return nil, "", errors.New("iat out of window")
	}
	sum := sha256.Sum256([]byte(token))
	return &c, hex.EncodeToString(sum[:]), nil
}

func (r *ref) handleLaunch(w http.ResponseWriter, req *http.Request) {
	claims, tokenID, err := r.verify(req.URL.Query().Get("jwt"))
	if err != nil {
		fail(w, http.StatusUnauthorized, err)
		return
	}
	ctx := req.Context()
	now := time.Now()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	cookie := base64.RawURLEncoding.EncodeToString(b)
	hash := sha256.Sum256([]byte(cookie))
	tx, err := r.pool.BeginTx(ctx, nil)
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	res, err := tx.StmtContext(ctx, r.stmts[qToken]).ExecContext(ctx, tokenID, r.ts(now), r.ts(now.Add(time.Hour)))
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		fail(w, http.StatusUnauthorized, errors.New("token used"))
		return
	}
	var cand int64
	if err := tx.StmtContext(ctx, r.stmts[qCandByExt]).QueryRowContext(ctx, claims.ExternalCustomerID).Scan(&cand); err != nil {
		fail(w, http.StatusNotFound, err)
		return
	}
	if _, err := tx.StmtContext(ctx, r.stmts[qSession]).ExecContext(ctx, hex.EncodeToString(hash[:]), cand,
		r.ts(now), r.ts(now.Add(12*time.Hour)), "other", r.ts(now)); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	if err := tx.Commit(); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "examgate_session", Value: cookie, Path: "/", MaxAge: 12 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, req, "/exams/x", http.StatusSeeOther)
}

type dashBooking struct {
	ID        int64     `json:"id"`
	Status    string    `json:"status"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	TimeZone  string    `json:"timeZone"`
	UpdatedAt time.Time `json:"updatedAt"`
	AttemptID *int64    `json:"attemptId"`
}

type dashResult struct {
	AttemptID int64   `json:"attemptId"`
	Percent   float64 `json:"percent"`
	Passed    bool    `json:"passed"`
}

func (r *ref) handleDashboard(w http.ResponseWriter, req *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 64<<10)).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	c, err := req.Cookie("examgate_session")
	if err != nil {
		fail(w, http.StatusUnauthorized, err)
		return
	}
	ctx := req.Context()
	hash := sha256.Sum256([]byte(c.Value))
	var me struct {
		ID                               int64
		Email, FirstName, LastName, Name string
	}
	now := time.Now()
	if err := r.stmts[qSessRead].QueryRowContext(ctx, hex.EncodeToString(hash[:]), r.ts(now), r.ts(examgate.SessionIdleSince(now, 0))).Scan(&me.ID); err != nil {
		fail(w, http.StatusUnauthorized, err)
		return
	}
	if err := r.stmts[qCandRead].QueryRowContext(ctx, me.ID).Scan(&me.ID, &me.Email, &me.FirstName, &me.LastName, &me.Name); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	var elig struct {
		EndsAt time.Time
		Closed sql.NullTime
	}
	eligErr := r.stmts[qEligRead].QueryRowContext(ctx, me.ID, in.Code).Scan(&elig.EndsAt, &elig.Closed)
	if eligErr != nil && !errors.Is(eligErr, sql.ErrNoRows) {
		fail(w, http.StatusInternalServerError, eligErr)
		return
	}
	rows, err := r.stmts[qBookRead].QueryContext(ctx, me.ID, in.Code)
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	bookings := []dashBooking{}
	for rows.Next() {
		var b dashBooking
		if err := rows.Scan(&b.ID, &b.Status, &b.StartsAt, &b.EndsAt, &b.TimeZone, &b.UpdatedAt, &b.AttemptID); err != nil {
			rows.Close()
			fail(w, http.StatusInternalServerError, err)
			return
		}
		bookings = append(bookings, b)
	}
	if err := rows.Close(); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	var standing struct {
		Used   int  `json:"attemptsUsed"`
		Passed bool `json:"passed"`
	}
	if err := r.stmts[qStanding].QueryRowContext(ctx, me.ID, in.Code, me.ID, in.Code).Scan(&standing.Used, &standing.Passed); err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	var result *dashResult
	var res dashResult
	switch err := r.stmts[qResRead].QueryRowContext(ctx, me.ID, in.Code).Scan(&res.AttemptID, &res.Percent, &res.Passed); {
	case err == nil:
		result = &res
	case !errors.Is(err, sql.ErrNoRows):
		fail(w, http.StatusInternalServerError, err)
		return
	}
	out := map[string]any{
		"me":       map[string]any{"id": strconv.FormatInt(me.ID, 10), "email": me.Email, "name": strings.TrimSpace(me.FirstName + " " + me.LastName + me.Name)},
		"bookings": bookings,
		"standing": standing,
		"result":   result,
	}
	if eligErr == nil {
		out["eligibility"] = map[string]any{"endsAt": elig.EndsAt, "active": !elig.Closed.Valid && time.Now().Before(elig.EndsAt)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}
