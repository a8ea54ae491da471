package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/examgate/examgate/db"
)

// defaultDatabase is the SQLite file used when EXAMGATE_DATABASE_URL is
// not set.
const defaultDatabase = "examgate.db"

// dbFlag is the --db flag of an operator command: EXAMGATE_DATABASE_URL
// unless given.
func dbFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("db", or(getenv("EXAMGATE_DATABASE_URL"), defaultDatabase), "SQLite file or postgres:// URL (EXAMGATE_DATABASE_URL)")
}

// openStore opens the database and brings its schema up to date, creating a
// SQLite file that does not exist yet: for `examgate serve` and `examgate
// migrate`, which are how a database is made.
func openStore(ctx context.Context, dsn string) (*db.DB, error) {
	store, err := db.Open(dsn)
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("%w (check EXAMGATE_DATABASE_URL)", err)
	}
	return store, nil
}

// openExisting opens the database of an operator command (apikey, webhook,
// lti, …), which must exist already: an unset or mistyped
// EXAMGATE_DATABASE_URL would otherwise make a new, empty SQLite file and
// the command would act on it, or report that nothing is there. It says on
// stderr which database it uses.
func openExisting(ctx context.Context, dsn string, stderr io.Writer) (*db.DB, error) {
	if path, ok := sqliteFile(dsn); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("there is no database at %s: set EXAMGATE_DATABASE_URL (or --db) to the server's database, "+
				"or run `examgate migrate` with it to create a new one", describeDatabase(dsn))
		}
	}
	fmt.Fprintf(stderr, "database: %s\n", describeDatabase(dsn))
	return openStore(ctx, dsn)
}

// sqliteFile returns the file of a SQLite dsn.
func sqliteFile(dsn string) (string, bool) {
	if db.IsPostgresURL(dsn) || dsn == ":memory:" {
		return "", false
	}
	path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	return path, true
}

// describeDatabase names a database for the operator: a SQLite file by its
// absolute path, a PostgreSQL URL without its password.
func describeDatabase(dsn string) string {
	if path, ok := sqliteFile(dsn); ok {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		return path + " (SQLite)"
	}
	if dsn == ":memory:" {
		return "a private in-memory SQLite database"
	}
	return redactURL(dsn) + " (PostgreSQL)"
}

// redactURL hides a database URL's password.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	u.RawQuery = ""
	return u.Redacted()
}

// migrate creates the database if need be and applies the migrations. It
// needs only the database: run it before the rest is configured.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("examgate migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: examgate migrate [--db URL]", fs.Arg(0))
	}
	store, err := openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "migrations applied: %s\n", describeDatabase(*dsn))
	return nil
}
