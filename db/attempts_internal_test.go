package db

import "testing"

func TestTypedParams(t *testing.T) {
	q := "SELECT ?text, ?bigint FROM t WHERE a = ?timestamptz/*x*/ AND b = ?"
	if got, want := postgresParams(q), "SELECT $1::text, $2::bigint FROM t WHERE a = $3::timestamptz/*x*/ AND b = $4"; got != want {
		t.Errorf("postgresParams = %q, want %q", got, want)
	}
	if got, want := sqliteParams(q), "SELECT ?, ? FROM t WHERE a = ?/*x*/ AND b = ?"; got != want {
		t.Errorf("sqliteParams = %q, want %q", got, want)
	}
}
