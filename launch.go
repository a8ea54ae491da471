package examgate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"
)

// Store is the persistence the domain needs. db.DB implements it.
type Store interface {
	CandidateByID(ctx context.Context, id int64) (*Candidate, error)
	CandidateByExternalID(ctx context.Context, externalID string) (*Candidate, error)
	CandidateByEmail(ctx context.Context, email string) (*Candidate, error)
	Eligibility(ctx context.Context, candidateID int64, examCode string) (*Eligibility, error)
	LaunchTokenUsed(ctx context.Context, tokenID string) (bool, error)
	// CompleteLaunch records a launch in one transaction: it consumes the
	// token (ECONFLICT if it was used meanwhile), finds or creates the
	// candidate, stores the eligibility window and creates the session.
	CompleteLaunch(ctx context.Context, l *LaunchRecord) (*Candidate, error)
	SessionByTokenHash(ctx context.Context, hash string, now time.Time) (*Session, error)
	DeleteSession(ctx context.Context, hash string) error
}

// LaunchRecord is everything a successful launch writes.
type LaunchRecord struct {
	TokenID        string
	TokenExpiresAt time.Time // when the replay record may be forgotten
	Candidate      Candidate // ID is ignored; matched by ExternalID, else Email
	Eligibility    Eligibility
	Session        Session // CandidateID is filled in by the store
}

// Launcher turns a checked launch token into a signed-in candidate.
type Launcher struct {
	Store   Store
	TI      TI
	Catalog *Catalog
	Clock   Clock
	Logger  *slog.Logger
	// ReplayWindow is how long a used token must be remembered: at least as
	// long as the token would otherwise be accepted.
	ReplayWindow time.Duration
	// TIBudget bounds all TI calls of one launch together, retries and
	// waits for TI's rate limit included, well under the server's write
	// timeout: past it the learner gets "try again" while the browser is
	// still listening. Zero means DefaultLaunchTIBudget.
	TIBudget time.Duration
}

// DefaultLaunchTIBudget is Launcher.TIBudget when it is zero.
const DefaultLaunchTIBudget = 8 * time.Second

// Launched is the outcome of a launch.
type Launched struct {
	Candidate    *Candidate
	Exam         *Exam
	Eligibility  *Eligibility
	SessionToken string // goes into the cookie; only its hash is stored
}

// Launch checks the launch against the catalog, the candidate records and TI,
// then records it. Nothing is written unless every check passes.
func (l *Launcher) Launch(ctx context.Context, c *LaunchClaims, examCode string) (*Launched, error) {
	now := l.Clock.Now()
	claims := *c
	claims.Email = NormalizeEmail(c.Email)
	if claims.AssignmentID != "" && !IsUUID(claims.AssignmentID) {
		// TI would refuse every result posted to it; the catalog's id is
		// the better bet.
		l.logger().WarnContext(ctx, "launch token's assignmentId is not a UUID; using the exam catalog's", "exam", examCode)
		claims.AssignmentID = ""
	}
	c = &claims
	exam, err := l.Catalog.Exam(examCode)
	if err != nil {
		return nil, err
	}
	if !exam.HasCourse(c.CourseID) {
		return nil, Errorf(EFORBIDDEN, "This exam is not part of the course you opened it from. Go back to your course and use its exam link.")
	}
	used, err := l.Store.LaunchTokenUsed(ctx, c.TokenID)
	if err != nil {
		return nil, err
	}
	if used {
		return nil, errLinkUsed
	}
	existing, err := l.matchCandidate(ctx, c)
	if err != nil {
		return nil, err
	}
	var stored *Eligibility
	if existing != nil {
		if stored, err = l.Store.Eligibility(ctx, existing.ID, exam.Code); err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
	}

	tiUserID := c.TIUserID
	if tiUserID == "" && existing != nil {
		tiUserID = existing.TIUserID
	}
	// The token is consumed only by CompleteLaunch below, so a launch that
	// runs out of time here leaves the learner's link usable.
	budget := l.TIBudget
	if budget <= 0 {
		budget = DefaultLaunchTIBudget
	}
	tiCtx, cancel := context.WithTimeout(ctx, budget)
	elig, tiUserID, err := l.checkPurchase(tiCtx, c, exam, tiUserID, now)
	cancel()
	if err != nil {
		if ErrorCode(err) != EUNAVAILABLE || stored == nil {
			return nil, err
		}
		// TI is down but confirmed this purchase before: keep the learner going.
		l.logger().WarnContext(ctx, "TI unreachable, using the stored eligibility window",
			"candidate_id", existing.ID, "exam", exam.Code, "ends_at", stored.EndsAt, "err", err)
		elig = stored
		if c.AssignmentID != "" {
			elig.AssignmentID = c.AssignmentID
		}
	}

	token, hash, err := newSessionToken()
	if err != nil {
		return nil, err
	}
	cand, err := l.Store.CompleteLaunch(ctx, &LaunchRecord{
		TokenID:        c.TokenID,
		TokenExpiresAt: tokenForgetAt(c, now, l.ReplayWindow),
		Candidate: Candidate{
			ExternalID: c.ExternalCustomerID,
			Email:      c.Email,
			FirstName:  c.FirstName,
			LastName:   c.LastName,
			Name:       c.Name,
			TIUserID:   tiUserID,
		},
		Eligibility: *elig,
		Session:     Session{TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime), Browser: c.Browser},
	})
	if err != nil {
		return nil, err
	}
	elig.CandidateID = cand.ID
	return &Launched{Candidate: cand, Exam: exam, Eligibility: elig, SessionToken: token}, nil
}

var errLinkUsed = Errorf(EUNAUTHORIZED, "This link has already been used. Go back to your course and open the exam again.")

// matchCandidate finds the candidate a launch is for, by externalCustomerId
// first and by email second, and refuses an email owned by someone else.
func (l *Launcher) matchCandidate(ctx context.Context, c *LaunchClaims) (*Candidate, error) {
	var byExt *Candidate
	if c.ExternalCustomerID != "" {
		cand, err := l.Store.CandidateByExternalID(ctx, c.ExternalCustomerID)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		byExt = cand
	}
	byEmail, err := l.Store.CandidateByEmail(ctx, c.Email)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	return MatchCandidate(byExt, byEmail, c)
}

// EmailTaken is the refusal of a launch whose email is another learner's.
func EmailTaken(email string) error {
	return Errorf(ECONFLICT, "The email address %s already belongs to another learner account here. Ask your course administrator or support to merge or correct the accounts.", email)
}

// MatchCandidate applies TI's identity rule: externalCustomerId identifies a
// user and lets their email change; an email can belong to one user only.
func MatchCandidate(byExt, byEmail *Candidate, c *LaunchClaims) (*Candidate, error) {
	conflict := EmailTaken(c.Email)
	switch {
	case byExt != nil:
		if byEmail != nil && byEmail.ID != byExt.ID {
			return nil, conflict
		}
		return byExt, nil
	case byEmail != nil:
		if byEmail.ExternalID != "" && c.ExternalCustomerID != "" && byEmail.ExternalID != c.ExternalCustomerID {
			return nil, conflict
		}
		return byEmail, nil
	default:
		return nil, nil
	}
}

// checkPurchase asks TI when the course was bought and derives the window.
func (l *Launcher) checkPurchase(ctx context.Context, c *LaunchClaims, exam *Exam, tiUserID string, now time.Time) (*Eligibility, string, error) {
	if tiUserID == "" {
		id, err := l.TI.UserID(ctx, c.Email)
		if err != nil {
			return nil, "", err
		}
		tiUserID = id
	}
	purchased, err := l.TI.LatestPurchase(ctx, tiUserID, c.CourseID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, "", Wrap(EFORBIDDEN, err, "We could not find a purchase of this course on your account. If you bought it recently, wait a few minutes and open the exam again from your course; otherwise contact support.")
		}
		return nil, "", err
	}
	return &Eligibility{
		ExamCode:     exam.Code,
		CourseID:     c.CourseID,
		AssignmentID: c.AssignmentID,
		PurchasedAt:  purchased.UTC(),
		EndsAt:       EligibilityEnd(purchased, exam.EligibilityDays),
		CheckedAt:    now,
	}, tiUserID, nil
}

// EligibilityEnd is the purchase time plus the exam's eligibility days.
func EligibilityEnd(purchased time.Time, days int) time.Time {
	return purchased.UTC().AddDate(0, 0, days)
}

// tokenForgetAt is when a used token can no longer be replayed anyway.
func tokenForgetAt(c *LaunchClaims, now time.Time, window time.Duration) time.Time {
	at := c.IssuedAt.Add(window)
	if !c.ExpiresAt.IsZero() && c.ExpiresAt.After(at) {
		at = c.ExpiresAt
	}
	if at.Before(now) {
		at = now.Add(window)
	}
	return at
}

// newSessionToken returns a random cookie value and the hash that is stored.
func newSessionToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", Wrap(EINTERNAL, err, "could not create a session")
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashSessionToken(token), nil
}

// NormalizeEmail is the form in which emails are stored and compared.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// HashSessionToken is how a cookie value is looked up in the store.
func HashSessionToken(token string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return hex.EncodeToString(sum[:])
}

func (l *Launcher) logger() *slog.Logger {
	if l.Logger == nil {
		return slog.Default()
	}
	return l.Logger
}
