package examgate

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// LTILaunchClaims are the checked contents of an LTI 1.3 launch, as the
// domain needs them. The lti package produces them.
type LTILaunchClaims struct {
	Issuer, ClientID, DeploymentID string
	Subject                        string // sub: with Issuer, the learner's identity
	Email                          string // optional
	FirstName, LastName            string // optional
	CourseID                       string
	ResourceLinkID                 string
	LineItemURL                    string // where scores go; empty when the platform takes none
	// LineItemsURL is the line items container, when the platform sent no
	// line item (AGS: a link with none, or with several) but lets the tool
	// find or create it; scores then go to the one found for the link.
	LineItemsURL string
	ReturnURL    string // back to the course on the platform, when it said
	Browser      string // the family of the browser launching, for Session.Browser
	Locale       string // launch_presentation.locale, a BCP 47 tag; empty when the platform sent none
}

// LTIContext is what examgate remembers of a candidate's latest LTI launch
// of an exam (or, for an attempt, of the launch in force when it started):
// where their scores go.
type LTIContext struct {
	CandidateID    int64
	ExamCode       string
	Issuer         string
	ClientID       string
	DeploymentID   string
	Subject        string
	ResourceLinkID string
	CourseID       string
	LineItemURL    string
	LineItemsURL   string // the container, when there is no LineItemURL
	ReturnURL      string
	UpdatedAt      time.Time
}

// TakesScores reports whether the platform takes this context's scores.
func (lc *LTIContext) TakesScores() bool { return lc.LineItemURL != "" || lc.LineItemsURL != "" }

// LTILaunchRecord is everything a successful LTI launch writes.
type LTILaunchRecord struct {
	Claims   LTILaunchClaims
	ExamCode string
	// Eligibility is the window a first launch opens; a later launch keeps
	// the stored one.
	Eligibility Eligibility
	Session     Session
}

// LTIStore is the persistence LTI launches need.
type LTIStore interface {
	// CompleteLTILaunch finds or creates the candidate of (issuer, sub),
	// opens the eligibility window on the first launch of the exam, records
	// the launch context and creates the session, in one transaction. It
	// returns the candidate and the eligibility in force.
	CompleteLTILaunch(ctx context.Context, r *LTILaunchRecord) (*Candidate, *Eligibility, error)
	LTIContext(ctx context.Context, candidateID int64, examCode string) (*LTIContext, error)
}

// LTILauncher turns a checked LTI launch into a signed-in candidate. LTI has
// no purchase API: eligibility starts at the first launch of the exam and
// lasts the exam's eligibilityDays.
type LTILauncher struct {
	Store   LTIStore
	Catalog *Catalog
	Clock   Clock
	Logger  *slog.Logger
}

// Launch records the launch and returns the session to set.
func (l *LTILauncher) Launch(ctx context.Context, c *LTILaunchClaims, examCode string) (*Launched, error) {
	exam, err := l.Catalog.Exam(examCode)
	if err != nil {
		return nil, err
	}
	now := l.Clock.Now()
	claims := *c
	claims.Email = NormalizeEmail(c.Email)
	token, hash, err := newSessionToken()
	if err != nil {
		return nil, err
	}
	cand, elig, err := l.Store.CompleteLTILaunch(ctx, &LTILaunchRecord{
		Claims:   claims,
		ExamCode: exam.Code,
		Eligibility: Eligibility{
			ExamCode: exam.Code, CourseID: c.CourseID, PurchasedAt: now,
			EndsAt: EligibilityEnd(now, exam.EligibilityDays), CheckedAt: now,
		},
		Session: Session{TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime), Browser: c.Browser},
	})
	if err != nil {
		return nil, err
	}
	return &Launched{Candidate: cand, Exam: exam, Eligibility: elig, SessionToken: token}, nil
}

// LTI score progress values (AGS).
const (
	LTIInProgress  = "InProgress"
	LTICompleted   = "Completed"
	LTIPending     = "Pending"
	LTIFullyGraded = "FullyGraded"
)

// LTIStartedJob is the score job sent when an attempt starts: in progress,
// nothing scored yet. It carries no scoreGiven and no scoreMaximum (AGS
// 3.4.3 leaves both out until there is a score): some gradebooks show a
// scoreGiven of 0 as a zero.
func LTIStartedJob(lc *LTIContext, a *Attempt, exam *Exam) (Job, error) {
	return ltiScoreJob(lc, exam, LTIScoreJob{
		AttemptID: a.ID, ActivityProgress: LTIInProgress, GradingProgress: LTIPending,
		Timestamp: a.StartedAt,
	})
}

// LTICompletedJob is the score job of a result: completed and fully graded,
// in points.
func LTICompletedJob(lc *LTIContext, exam *Exam, r *Result, endedAt time.Time) (Job, error) {
	given, maximum := r.Points, r.MaxPoints
	if maximum <= 0 { // an exam without points: report the percentage
		given, maximum = r.Percent, 100
	}
	comment := fmt.Sprintf("Not passed: %.4g%%, pass mark %.4g%%", r.Percent, r.PassMark)
	if r.Passed {
		comment = fmt.Sprintf("Passed: %.4g%%", r.Percent)
	}
	return ltiScoreJob(lc, exam, LTIScoreJob{
		AttemptID: r.AttemptID, ActivityProgress: LTICompleted, GradingProgress: LTIFullyGraded,
		ScoreGiven: &given, ScoreMaximum: maximum, Timestamp: endedAt, Comment: comment,
	})
}

func ltiScoreJob(lc *LTIContext, exam *Exam, p LTIScoreJob) (Job, error) {
	p.Issuer, p.ClientID, p.LineItemURL, p.UserID = lc.Issuer, lc.ClientID, lc.LineItemURL, lc.Subject
	if lc.LineItemURL == "" && lc.LineItemsURL != "" {
		// Found or created when the score is sent: what to look for, and
		// what a new line item says.
		p.LineItemsURL, p.ResourceLinkID, p.ResourceID = lc.LineItemsURL, lc.ResourceLinkID, exam.Code
		p.Label, p.LineItemMaximum = exam.Title, 100
		if exam.Delivery != nil && exam.Delivery.MaxPoints() > 0 {
			p.LineItemMaximum = exam.Delivery.MaxPoints()
		}
	}
	p.Timestamp = p.Timestamp.UTC()
	return NewLTIScoreJob(p)
}

// LTIContexts is what exam delivery needs to send scores to LTI platforms.
type LTIContexts interface {
	// LTIAttempt returns where an attempt's scores go: the candidate's
	// latest launch of the exam when the attempt started (AttemptStore's
	// StartAttempt records it), whatever launches came after. NotFound when
	// the candidate had not launched the exam from an LTI platform.
	LTIAttempt(ctx context.Context, attemptID int64) (*LTIContext, error)
	Enqueue(ctx context.Context, now time.Time, jobs ...Job) error
}
