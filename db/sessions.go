package db

import (
	"context"
	"sync"
	"time"

	"github.com/examgate/examgate"
)

// SetSessionIdle sets how long a session lasts without a request
// (examgate.DefaultSessionIdle when d is zero). Call it before serving.
func (db *DB) SetSessionIdle(d time.Duration) { db.sessionIdle = d }

// seenSince is the last-seen time a session needs at now to be live.
func (db *DB) seenSince(now time.Time) time.Time {
	return examgate.SessionIdleSince(now, db.sessionIdle)
}

// timeArg is a time as a statement's parameter: SQLite compares the text
// bun writes.
func (db *DB) timeArg(t time.Time) any {
	if db.postgres {
		return t.UTC()
	}
	return sqliteTime(t)
}

// touchSession records that the session was in use at now. It writes only
// over a last-seen time at least examgate.SessionSeenEvery old, so that
// several processes serving one learner write at most once a minute
// between them, and never moves the time back.
const touchSession = `UPDATE sessions SET last_seen_at = ?timestamptz WHERE token_hash = ?text AND last_seen_at <= ?timestamptz`

func (db *DB) touchArgs(hash string, now time.Time) []any {
	return []any{db.timeArg(now), hash, db.timeArg(now.Add(-examgate.SessionSeenEvery))}
}

// touch runs touchSession on the pool of session reads. A failed touch is
// not the request's failure: the session is live, and at worst it ends
// a minute early if no later request records it.
func (db *DB) touch(ctx context.Context, hash string, now time.Time) {
	st, err := db.prepared.get(ctx, db.hotPool(), db.dialectParams(touchSession))
	if err != nil {
		return
	}
	_, _ = st.ExecContext(ctx, db.touchArgs(hash, now)...)
}

// dialectParams types a query's ?type parameters for the store's database.
func (db *DB) dialectParams(q string) string {
	if db.postgres {
		return postgresParams(q)
	}
	return sqliteParams(q)
}

// seenMemory remembers the sessions this process recorded as seen in the
// last minute, so that an autosave, which checks its session inside its
// own statement without reading the row, writes the last-seen time only
// when it is due. Two generations of a minute each bound it to the
// sessions in use in the last two minutes.
type seenMemory struct {
	mu        sync.Mutex
	cur, prev map[string]time.Time
	curStart  time.Time
}

// due reports whether the session's last-seen time should be written at
// now, and if so notes it as written.
func (m *seenMemory) due(hash string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil || now.Sub(m.curStart) >= examgate.SessionSeenEvery || now.Before(m.curStart) {
		m.prev, m.cur, m.curStart = m.cur, make(map[string]time.Time), now
	}
	for _, gen := range []map[string]time.Time{m.cur, m.prev} {
		if at, ok := gen[hash]; ok && now.Sub(at) < examgate.SessionSeenEvery && !now.Before(at) {
			return false
		}
	}
	m.cur[hash] = now
	return true
}

// noteSeen records that the session was written as seen at at.
func (m *seenMemory) noteSeen(hash string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur != nil {
		m.cur[hash] = at
	}
}
