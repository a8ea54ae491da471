// Package examgate holds the domain of the exam gateway: candidates, exams,
// eligibility windows and sessions, the rules that govern them and the
// interfaces the domain needs from the outside world. It imports no transport
// and no SQL; server, graph, db and tiapi depend on it, never the reverse.
package examgate

import (
	"context"
	"strings"
	"time"
)

// Clock tells the time; tests inject a fixed one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time in UTC at the databases' microsecond precision,
// so that a time returned before and after storing compares equal.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// Candidate is a learner known to examgate.
type Candidate struct {
	ID         int64
	ExternalID string // TI externalCustomerId; empty when TI sent none
	Email      string
	FirstName  string
	LastName   string
	Name       string // the whole name, when the launch sent one instead of first and last
	TIUserID   string // TI's own user id, once known
	TimeZone   string // IANA zone the learner chose or their browser reported
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DisplayName is how the learner is named on pages and in emails: first
// and last name when known, else the whole name the launch sent.
func (c *Candidate) DisplayName() string {
	if n := strings.TrimSpace(c.FirstName + " " + c.LastName); n != "" {
		return n
	}
	return c.Name
}

// Eligibility is the window in which a candidate may sit an exam.
type Eligibility struct {
	CandidateID  int64
	ExamCode     string
	CourseID     string
	AssignmentID string // from the launch token, when TI sent one
	PurchasedAt  time.Time
	EndsAt       time.Time
	CheckedAt    time.Time // last time TI confirmed the purchase
}

// Active reports whether the window is still open at now.
func (e *Eligibility) Active(now time.Time) bool { return now.Before(e.EndsAt) }

// Session is a signed-in browser. Only the hash of its token is stored.
type Session struct {
	ID          int64
	TokenHash   string
	CandidateID int64
	// Browser is the browser family the session was made in (chrome,
	// firefox, safari, edge, opera, other); a launch that makes a session
	// in one family ends the learner's earlier sessions in it. Empty ends
	// none.
	Browser   string
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastSeenAt is when the session was last found in use, to within
	// SessionSeenEvery; zero at a launch means CreatedAt.
	LastSeenAt time.Time
}

// SessionLifetime is how long a launch keeps a learner signed in.
const SessionLifetime = 12 * time.Hour

// DefaultSessionIdle is how long a session lasts without a request before
// it ends (EXAMGATE_SESSION_IDLE): shorter than SessionLifetime, so that a
// browser left signed in on a shared computer is not usable for the rest
// of the day. An exam in progress keeps its session alive: every autosave
// and the player's clock check every five minutes count as use.
const DefaultSessionIdle = time.Hour

// SessionSeenEvery is how often at most a session's LastSeenAt is written:
// a request that finds it written less than this long ago writes nothing,
// so the autosaves of an exam cost one write a minute, not one each.
const SessionSeenEvery = time.Minute

// SessionIdleSince is the last-seen time a session needs at now to be live
// under an idle timeout (DefaultSessionIdle when idle is zero or less).
func SessionIdleSince(now time.Time, idle time.Duration) time.Time {
	if idle <= 0 {
		idle = DefaultSessionIdle
	}
	return now.Add(-idle)
}

// LaunchClaims are the checked contents of a TI launch token.
type LaunchClaims struct {
	TokenID            string // hex SHA-256 of the raw token: the replay key
	IssuedAt           time.Time
	ExpiresAt          time.Time // zero when the token carries no exp
	Email              string
	FirstName          string
	LastName           string
	Name               string // one whole name, sent by some TI setups instead of first and last
	ExternalCustomerID string
	CourseID           string
	AssignmentID       string
	TIUserID           string // userId or learnerId, when TI sent one
	Browser            string // the family of the browser launching, for Session.Browser
}

// TI is what examgate asks Thought Industries.
type TI interface {
	// UserID returns TI's user id for an email, or a NotFound error.
	UserID(ctx context.Context, email string) (string, error)
	// LatestPurchase returns the time of the newest purchase of the course
	// by the user, or a NotFound error when there is none.
	LatestPurchase(ctx context.Context, userID, courseID string) (time.Time, error)
}
