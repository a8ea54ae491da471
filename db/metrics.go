package db

import (
	"context"
	"time"
)

// QueueCount is the number of jobs of one kind in one state, and when the
// oldest of them was created.
type QueueCount struct {
	Kind, State string
	Count       int
	Oldest      time.Time
}

// QueueCounts counts the jobs not done, by kind and state, for metrics.
// Done jobs are left out: they only grow.
func (db *DB) QueueCounts(ctx context.Context) ([]QueueCount, error) {
	rows, err := db.bun.QueryContext(ctx, `SELECT kind, state, count(*), min(created_at) FROM jobs
		WHERE state <> 'done' GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []QueueCount
	for rows.Next() {
		var c QueueCount
		var oldest timeValue
		if err := rows.Scan(&c.Kind, &c.State, &c.Count, &oldest); err != nil {
			return nil, err
		}
		c.Oldest = oldest.t
		out = append(out, c)
	}
	return out, rows.Err()
}

// LiveSessions counts the sessions that have neither expired nor idled out.
func (db *DB) LiveSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := db.bun.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE expires_at > ? AND last_seen_at > ?`,
		db.timeArg(now), db.timeArg(db.seenSince(now))).Scan(&n)
	return n, err
}

// timeValue scans a timestamp as either driver returns it from an
// aggregate: a time.Time (PostgreSQL) or text (SQLite's min()).
type timeValue struct{ t time.Time }

func (v *timeValue) Scan(src any) error {
	switch x := src.(type) {
	case time.Time:
		v.t = x.UTC()
	case string:
		v.t = parseSQLiteTime(x)
	case []byte:
		v.t = parseSQLiteTime(string(x))
	}
	return nil
}

func parseSQLiteTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
