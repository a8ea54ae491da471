// Package db is the bun store of examgate: SQLite (modernc, no cgo) by
// default and PostgreSQL for production, with embedded migrations.
package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/examgate/examgate"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

// DB is the examgate store.
type DB struct {
	bun      *bun.DB
	hot      *sql.DB // PostgreSQL: a pool of its own for session reads and autosaves
	postgres bool
	saves    saveGroup // group commit of autosaves on SQLite (attempts.go)
	prepared stmtCache // the statements of the hottest paths: session read, autosave
	reads    stmtCache // the prepared reads of learner requests, on the main pool (reads.go)

	bookings *opClass // PostgreSQL: bounds the booking statements (classes.go)

	sessionIdle time.Duration // see SetSessionIdle
	seen        seenMemory    // sessions recorded as seen lately (sessions.go)
}

// stmtCache holds statements prepared on the pool; database/sql prepares
// each again on every connection that runs it, once per connection.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	runs  atomic.Int64
}

// PreparedRuns counts the statements run from the cache (bun's query hooks
// do not see them), for benchmarks that count statements.
func (db *DB) PreparedRuns() int64 { return db.prepared.runs.Load() + db.reads.runs.Load() }

// get returns query prepared, to be run once. It prepares outside the lock,
// so that a slow prepare does not hold up the statements already cached.
func (c *stmtCache) get(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	c.runs.Add(1)
	return c.stmtAs(ctx, pool, query, nil)
}

// stmt is get for a statement that may not be run (not counted).
func (c *stmtCache) stmt(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	return c.stmtAs(ctx, pool, query, nil)
}

// cached returns query if it is prepared already.
func (c *stmtCache) cached(query string) (*sql.Stmt, bool) {
	c.runs.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.stmts[query]
	return st, ok
}

// getAs is get for a query whose text for the database is text(query),
// computed only when it is first prepared.
func (c *stmtCache) getAs(ctx context.Context, pool *sql.DB, query string, text func(string) string) (*sql.Stmt, error) {
	c.runs.Add(1)
	return c.stmtAs(ctx, pool, query, text)
}

func (c *stmtCache) stmtAs(ctx context.Context, pool *sql.DB, query string, text func(string) string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.stmts[query]
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	prepared := query
	if text != nil {
		prepared = text(query)
	}
	st, err := pool.PrepareContext(ctx, prepared)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if first, ok := c.stmts[query]; ok {
		_ = st.Close() // another caller prepared it first
		return first, nil
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

// HotPool exposes the pool of session reads and autosaves (the main pool on
// SQLite), for cmd/perfref's autosave.
func (db *DB) HotPool() *sql.DB { return db.hotPool() }

// Bun exposes the bun handle for benchmarks and tests.
func (db *DB) Bun() *bun.DB { return db.bun }

// Postgres reports whether the store runs on PostgreSQL.
func (db *DB) Postgres() bool { return db.postgres }

// IsPostgresURL reports whether a database URL names PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Open connects to a PostgreSQL URL or opens a SQLite file (":memory:" for a
// private in-memory database). It does not migrate; call Migrate.
func Open(dsn string) (*DB, error) {
	if IsPostgresURL(dsn) {
		sqldb, err := sql.Open("pgx", simpleProtocol(dsn))
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		// As many idle as open: with fewer, a burst above the idle count
		// closed each connection it returned, and every request after it
		// paid for a new PostgreSQL backend and prepared its statements
		// again (40 new connections a second at 2 000 saves/s; p99 of a
		// save went from 136 ms to 26 ms without them).
		sqldb.SetMaxOpenConns(20)
		sqldb.SetMaxIdleConns(20)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		// Session reads and autosaves get their own few connections: when
		// a stalled table holds every connection of the main pool (booking
		// reads waiting on a lock), learners still sign in and their
		// answers are still saved.
		hot, err := sql.Open("pgx", simpleProtocol(dsn))
		if err != nil {
			_ = sqldb.Close()
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		hot.SetMaxOpenConns(HotConns)
		hot.SetMaxIdleConns(HotConns)
		hot.SetConnMaxIdleTime(5 * time.Minute)
		return &DB{bun: bun.NewDB(sqldb, pgdialect.New()), hot: hot, postgres: true,
			bookings: newOpClass("bookings", BookingConns)}, nil
	}
	sqldb, err := sql.Open("sqlite", sqliteDSN(dsn))
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", dsn, err)
	}
	// One connection: SQLite has one writer, and writers that find the lock
	// taken wait by sleeping in growing steps (busy_timeout), which under
	// concurrent launches stalled single transactions for half a second.
	// Waiting on Go's pool instead hands the connection over as soon as it
	// is free (to a random waiter, not the oldest; p99 24 ms at 8 writers in
	// docs/performance.md), and a memory database needs a single connection
	// anyway (each one is a new database).
	sqldb.SetMaxOpenConns(1)
	return &DB{bun: bun.NewDB(sqldb, sqlitedialect.New())}, nil
}

// simpleProtocol makes pgx send each statement once: bun already puts the
// values into the SQL text, so the default (prepare, then execute) costs a
// second round trip per statement and never reuses the prepared statement.
func simpleProtocol(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // pgx reports the bad URL
	}
	q := u.Query()
	if q.Get("default_query_exec_mode") == "" {
		q.Set("default_query_exec_mode", "simple_protocol")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// sqliteDSN puts the settings in the DSN so that every pooled connection gets
// them: wait for locks instead of failing, WAL for concurrent readers, foreign
// keys on, and BEGIN IMMEDIATE so that a transaction that will write takes
// the write lock up front (no deadlock between two upgrading readers).
func sqliteDSN(file string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	// FULL: a commit survives power loss, so a used launch token stays used.
	q.Add("_pragma", "synchronous(FULL)")
	if file != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + file + "?" + q.Encode()
}

// Close closes the connection pool.
func (db *DB) Close() error {
	if db.hot != nil {
		_ = db.hot.Close()
	}
	return db.bun.Close()
}

// HotConns is the size of PostgreSQL's pool for session reads and
// autosaves, beside the main pool's 20.
const HotConns = 6

// hotPool is where the hottest statements run: the pool of their own on
// PostgreSQL, the one connection on SQLite.
func (db *DB) hotPool() *sql.DB {
	if db.hot != nil {
		return db.hot
	}
	return db.bun.DB
}

// PoolStats are the statistics of the main pool.
func (db *DB) PoolStats() sql.DBStats { return db.bun.Stats() }

// HotStats are the statistics of the pool of session reads and autosaves.
func (db *DB) HotStats() sql.DBStats { return db.hotPool().Stats() }

// SetMaxIdleConns bounds the idle connections of every pool (tests keep
// few, as many stores share one server).
func (db *DB) SetMaxIdleConns(n int) {
	db.bun.SetMaxIdleConns(n)
	if db.hot != nil {
		db.hot.SetMaxIdleConns(min(n, HotConns))
	}
}

// Ping checks that the database answers.
// It asks on the pool of session reads, so that a main pool saturated by a
// stalled table reads as busy, not as a database that is down.
func (db *DB) Ping(ctx context.Context) error { return db.hotPool().PingContext(ctx) }

// migrationConn returns the connection that migrates. On a new SQLite file
// several processes opening their first connection at once race to switch
// it to WAL, which SQLite answers SQLITE_BUSY without waiting: that is
// tried again for a few seconds.
func (db *DB) migrationConn(ctx context.Context) (bun.Conn, error) {
	wait := 20 * time.Millisecond
	for try := 0; ; try++ {
		conn, err := db.bun.Conn(ctx)
		if err == nil || db.postgres || try == 8 || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return conn, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return conn, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// migrationLock is the PostgreSQL advisory lock key of migrations.
const migrationLock = 7366201

// Migrate applies the embedded migrations not yet applied, in name order, each
// in its own transaction. On PostgreSQL the whole migration, the creation of
// the migrations table included, runs under one advisory lock held by one
// connection, so that any number of processes may start at once on an
// empty database; on SQLite BEGIN IMMEDIATE serialises them.
func (db *DB) Migrate(ctx context.Context) error {
	if err := db.migrate(ctx); err != nil {
		return err
	}
	// The schema is there: prepare the statements of learner requests now
	// (reads.go), with the migration's connection given back.
	return db.prepareReads(ctx)
}

func (db *DB) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if db.postgres {
		dir = "migrations/postgres"
	}
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	conn, err := db.migrationConn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if db.postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, migrationLock); err != nil {
			return fmt.Errorf("migrate: waiting for the migration lock: %w", err)
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, migrationLock)
		}()
	}
	// In a transaction: on SQLite its BEGIN IMMEDIATE waits for another
	// process's migration (busy_timeout) where a bare statement fails.
	if err := conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("migrate: creating the migrations table: %w", err)
	}
	for _, name := range names {
		version := strings.TrimSuffix(path.Base(name), ".sql")
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().UTC())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
	}
	return nil
}

// notFound maps sql.ErrNoRows to a domain NotFound error.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return examgate.Errorf(examgate.ENOTFOUND, "%s not found", what)
	}
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "database error")
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
