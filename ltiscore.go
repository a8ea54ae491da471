package examgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
)

// JobLTIScore sends one score to an LTI platform (Assignment and Grade
// Services).
const JobLTIScore = "lti.score"

// LTIScoreJob is one score to send to a platform's line item (AGS).
type LTIScoreJob struct {
	AttemptID   int64  `json:"attemptId"`
	Issuer      string `json:"issuer"`
	ClientID    string `json:"clientId"`
	LineItemURL string `json:"lineItemUrl"`
	// Without LineItemURL, the line item is found in (or added to) the
	// container LineItemsURL when the score is sent: by ResourceLinkID,
	// then by ResourceID (the exam code); a new one has Label and
	// LineItemMaximum.
	LineItemsURL     string    `json:"lineItemsUrl,omitempty"`
	ResourceLinkID   string    `json:"resourceLinkId,omitempty"`
	ResourceID       string    `json:"resourceId,omitempty"`
	Label            string    `json:"label,omitempty"`
	LineItemMaximum  float64   `json:"lineItemMaximum,omitempty"`
	UserID           string    `json:"userId"`
	ActivityProgress string    `json:"activityProgress"` // "InProgress" or "Completed"
	GradingProgress  string    `json:"gradingProgress"`  // "Pending" or "FullyGraded"
	ScoreGiven       *float64  `json:"scoreGiven,omitempty"`
	ScoreMaximum     float64   `json:"scoreMaximum"`
	Timestamp        time.Time `json:"timestamp"`
	Comment          string    `json:"comment,omitempty"`
}

// Progress values of an AGS score that examgate sends.
const (
	LTIActivityInProgress = "InProgress"
	LTIActivityCompleted  = "Completed"
	LTIGradingPending     = "Pending"
	LTIGradingFullyGraded = "FullyGraded"
)

// Bounds of an LTI score job's text, far above what platforms send us.
const (
	maxLTIURLLen     = 2048
	maxLTIIDLen      = 255
	maxLTICommentLen = 1000
)

// LTIScoreJobKey orders an attempt's scores: the final score never
// overtakes the one sent at the start.
func LTIScoreJobKey(attemptID int64) string { return fmt.Sprintf("lti:attempt:%d", attemptID) }

// NewLTIScoreJob returns the queue job that sends p. Enqueue it in the
// transaction of the state change it reports. It is retried for as long as
// a TI result (DefaultJobMaxAge).
func NewLTIScoreJob(p LTIScoreJob) (Job, error) {
	if err := p.Check(); err != nil {
		return Job{}, Errorf(EINVALID, "LTI score: %v", err)
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return Job{}, err
	}
	return Job{Kind: JobLTIScore, Payload: payload, Key: LTIScoreJobKey(p.AttemptID)}, nil
}

// Check reports what makes p unsendable; such a score can never succeed.
func (p LTIScoreJob) Check() error {
	switch {
	case p.AttemptID <= 0:
		return errors.New("no attempt id")
	case strings.TrimSpace(p.Issuer) == "" || len(p.Issuer) > maxLTIURLLen:
		return errors.New("no platform issuer, or one longer than 2048 bytes")
	case strings.TrimSpace(p.ClientID) == "" || len(p.ClientID) > maxLTIIDLen:
		return errors.New("no client id, or one longer than 255 bytes")
	case len(p.LineItemURL) > maxLTIURLLen || len(p.LineItemsURL) > maxLTIURLLen:
		return errors.New("a line item URL longer than 2048 bytes")
	case strings.TrimSpace(p.LineItemURL) == "" && (strings.TrimSpace(p.LineItemsURL) == "" || strings.TrimSpace(p.ResourceLinkID) == ""):
		return errors.New("no line item URL, nor a line items container and resource link to find it by: the launch had no usable AGS claim")
	case len(p.ResourceLinkID) > maxLTIIDLen || len(p.ResourceID) > maxLTIIDLen || len(p.Label) > maxLTICommentLen:
		return errors.New("a resource link id, resource id or label over its bound")
	case math.IsNaN(p.LineItemMaximum) || math.IsInf(p.LineItemMaximum, 0) || p.LineItemMaximum < 0:
		return fmt.Errorf("lineItemMaximum %v is not a number of zero or more", p.LineItemMaximum)
	case strings.TrimSpace(p.UserID) == "" || len(p.UserID) > maxLTIIDLen:
		return errors.New("no user id, or one longer than 255 bytes")
	case !validActivity(p.ActivityProgress):
		return fmt.Errorf("activityProgress %q is not an AGS value", clip(p.ActivityProgress))
	case !validGrading(p.GradingProgress):
		return fmt.Errorf("gradingProgress %q is not an AGS value", clip(p.GradingProgress))
	case math.IsNaN(p.ScoreMaximum) || math.IsInf(p.ScoreMaximum, 0) || p.ScoreMaximum < 0:
		return fmt.Errorf("scoreMaximum %v is not a number of zero or more", p.ScoreMaximum)
	case p.ScoreGiven != nil && (math.IsNaN(*p.ScoreGiven) || math.IsInf(*p.ScoreGiven, 0) || *p.ScoreGiven < 0):
		return fmt.Errorf("scoreGiven %v is not a number of zero or more", *p.ScoreGiven)
	case p.ScoreGiven != nil && p.ScoreMaximum <= 0:
		return errors.New("scoreGiven needs a scoreMaximum above zero")
	case p.Timestamp.IsZero():
		return errors.New("no timestamp")
	case len(p.Comment) > maxLTICommentLen:
		return errors.New("comment longer than 1000 bytes")
	}
	return nil
}

// validActivity and validGrading accept every value AGS defines, not only
// the ones examgate sends, so that a requeued job from a later version
// still runs.
func validActivity(s string) bool {
	switch s {
	case "Initialized", "Started", "InProgress", "Submitted", "Completed":
		return true
	}
	return false
}

func validGrading(s string) bool {
	switch s {
	case "FullyGraded", "Pending", "PendingManual", "Failed", "NotReady":
		return true
	}
	return false
}

func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}

// LTIPlatforms finds the OAuth2 token URL of a registered platform.
// An unknown (issuer, client id) is an ENOTFOUND error.
type LTIPlatforms interface {
	TokenURL(ctx context.Context, issuer, clientID string) (string, error)
}

// LTITokenURLFunc adapts a function to LTIPlatforms.
type LTITokenURLFunc func(ctx context.Context, issuer, clientID string) (string, error)

// TokenURL implements LTIPlatforms.
func (f LTITokenURLFunc) TokenURL(ctx context.Context, issuer, clientID string) (string, error) {
	return f(ctx, issuer, clientID)
}

// LTIScorePoster sends a score to a line item, getting an access token from
// tokenURL. Its errors are already classified for the worker (RetryAfter,
// Permanent or plain). LineItem finds the line item of s's resource link in
// s.LineItemsURL (by resourceLinkId, then by resourceId), or creates it,
// and returns its URL.
type LTIScorePoster interface {
	PostScore(ctx context.Context, tokenURL string, s LTIScoreJob) error
	LineItem(ctx context.Context, tokenURL string, s LTIScoreJob) (string, error)
}

// LTILineItems remembers the line item examgate found or created for a
// resource link, so that every score of the link goes to the same one.
type LTILineItems interface {
	LTILineItem(ctx context.Context, issuer, clientID, resourceLinkID string) (string, error)
	// SaveLTILineItem stores url unless one is stored already, and returns
	// the one stored.
	SaveLTILineItem(ctx context.Context, issuer, clientID, resourceLinkID, url string, now time.Time) (string, error)
}

// LTIScores works the lti.score jobs.
type LTIScores struct {
	Platforms LTIPlatforms
	AGS       LTIScorePoster
	LineItems LTILineItems // needed for launches that sent only a line items container
	Clock     Clock
	Logger    *slog.Logger
	// ConfigRetry is how long a job waits when no platform registrations
	// are wired in; zero means an hour.
	ConfigRetry time.Duration
	// Results, when set, lets an in-progress score whose attempt has ended
	// be skipped: sent after the final score (retried late, or requeued by
	// staff) it would only confuse the gradebook.
	Results interface {
		ResultByAttempt(ctx context.Context, attemptID int64) (*Result, error)
	}
}

// Handle sends one score. Sending the same score again after a crash is
// harmless: the platform keeps the latest score by timestamp.
func (s *LTIScores) Handle(ctx context.Context, job *QueuedJob) error {
	var p LTIScoreJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return Permanent(fmt.Errorf("job %d: payload is not an LTI score job: %v", job.ID, err))
	}
	if err := p.Check(); err != nil {
		return Permanent(fmt.Errorf("job %d: LTI score cannot be sent: %v", job.ID, err))
	}
	if p.ActivityProgress == LTIActivityInProgress && s.Results != nil {
		_, err := s.Results.ResultByAttempt(ctx, p.AttemptID)
		if err == nil {
			s.logger().InfoContext(ctx, "in-progress score not sent: the attempt has ended", "attempt_id", p.AttemptID, "issuer", p.Issuer)
			return nil
		}
		if ErrorCode(err) != ENOTFOUND {
			return err
		}
	}
	if s.Platforms == nil {
		d := s.ConfigRetry
		if d <= 0 {
			d = time.Hour
		}
		return RetryAfter(d, errors.New("no LTI platform registrations are configured; register the platform, the score is sent afterwards"))
	}
	tokenURL, err := s.Platforms.TokenURL(ctx, p.Issuer, p.ClientID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Permanent(fmt.Errorf("no LTI platform is registered with issuer %s and client id %s: register it again (examgate lti add-platform), then retry the delivery", clip(p.Issuer), clip(p.ClientID)))
		}
		return err
	}
	if p.LineItemURL == "" {
		if p.LineItemURL, err = s.lineItem(ctx, tokenURL, p); err != nil {
			return err
		}
	}
	if err := s.AGS.PostScore(ctx, tokenURL, p); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, "score sent to LTI platform", "attempt_id", p.AttemptID,
		"issuer", p.Issuer, "activity", p.ActivityProgress, "grading", p.GradingProgress)
	return nil
}

// lineItem returns the line item of p's resource link: the one remembered,
// else the one the platform has or creates, remembered for next time.
func (s *LTIScores) lineItem(ctx context.Context, tokenURL string, p LTIScoreJob) (string, error) {
	if s.LineItems == nil {
		return "", Permanent(errors.New("the launch sent only a line items container and no line item store is wired in"))
	}
	url, err := s.LineItems.LTILineItem(ctx, p.Issuer, p.ClientID, p.ResourceLinkID)
	if err == nil {
		return url, nil
	}
	if ErrorCode(err) != ENOTFOUND {
		return "", err
	}
	found, err := s.AGS.LineItem(ctx, tokenURL, p)
	if err != nil {
		return "", err
	}
	now := time.Now()
	if s.Clock != nil {
		now = s.Clock.Now()
	}
	url, err = s.LineItems.SaveLTILineItem(ctx, p.Issuer, p.ClientID, p.ResourceLinkID, found, now)
	if err != nil {
		return "", err
	}
	s.logger().InfoContext(ctx, "LTI line item found for the resource link", "issuer", p.Issuer, "resource_link_id", clip(p.ResourceLinkID))
	return url, nil
}

func (s *LTIScores) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// LTIToolKey is one of examgate's own RSA key pairs, which sign the client
// assertions sent to LTI platforms. PrivateKeyPEM is secret: never log it.
type LTIToolKey struct {
	KID           string
	PrivateKeyPEM string     // PKCS #8
	CreatedAt     time.Time  // when it became the active key
	RetiredAt     *time.Time // when a newer key replaced it; nil while active
}

// String names the key by its kid only, so that printing it cannot leak the
// private key; LogValue and GoString do the same for slog and %#v.
func (k LTIToolKey) String() string { return "LTI tool key " + k.KID }

// GoString implements fmt.GoStringer.
func (k LTIToolKey) GoString() string { return k.String() }

// LogValue implements slog.LogValuer.
func (k LTIToolKey) LogValue() slog.Value { return slog.StringValue(k.String()) }
