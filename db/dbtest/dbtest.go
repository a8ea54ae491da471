// Package dbtest opens fresh, migrated stores for tests: an in-memory SQLite
// database always, and a private schema in the PostgreSQL database named by
// TEST_DATABASE_URL when that is set.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/examgate/examgate/db"
)

// Each runs fn once per available database, as a subtest named after it.
func Each(t *testing.T, fn func(t *testing.T, store *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t)) })
}

// OpenSQLite returns a migrated in-memory SQLite store.
func OpenSQLite(tb testing.TB) *db.DB {
	tb.Helper()
	return migrate(tb, ":memory:")
}

// OpenSQLiteFile returns a migrated SQLite store in a file of its own, for
// tests that need several connections (concurrency, restarts).
func OpenSQLiteFile(tb testing.TB) (*db.DB, string) {
	tb.Helper()
	path := tb.TempDir() + "/examgate.db"
	return migrate(tb, path), path
}

// PostgresURL returns a URL to a new empty schema in TEST_DATABASE_URL's
// database, dropped when the test ends. Without TEST_DATABASE_URL the test is
// skipped with a message saying how to run it, or fails when
// EXAMGATE_REQUIRE_POSTGRES=1 (as in CI, where nothing may be skipped).
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" && os.Getenv("EXAMGATE_REQUIRE_POSTGRES") == "1" {
		tb.Fatal("EXAMGATE_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
	}
	if base == "" {
		tb.Skip("PostgreSQL tests skipped: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("PostgreSQL at TEST_DATABASE_URL: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx passes unknown parameters to the server
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres returns a migrated store in a fresh PostgreSQL schema.
func OpenPostgres(tb testing.TB) *db.DB {
	tb.Helper()
	store := migrate(tb, PostgresURL(tb))
	// Many stores are open at once across parallel tests and packages, and
	// the server allows 100 connections: a test store keeps few idle (the
	// served pool keeps all it opened; TestPostgresPoolKeepsConnections).
	store.SetMaxIdleConns(2)
	return store
}

func migrate(tb testing.TB, dsn string) *db.DB {
	tb.Helper()
	store, err := db.Open(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return store
}
