package examgate

import "time"

// Local copy of the LTI score job contract; the score delivery replaces
// this file with its own definition of the same types.

const JobLTIScore = "lti.score"

// LTIScoreJob is one score to send to a platform's line item (AGS).
type LTIScoreJob struct {
	AttemptID        int64     `json:"attemptId"`
	Issuer           string    `json:"issuer"`
	ClientID         string    `json:"clientId"`
	LineItemURL      string    `json:"lineItemUrl"`      // from the launch's AGS endpoint claim
	UserID           string    `json:"userId"`           // the launch's sub
	ActivityProgress string    `json:"activityProgress"` // "InProgress" or "Completed"
	GradingProgress  string    `json:"gradingProgress"`  // "Pending" or "FullyGraded"
	ScoreGiven       *float64  `json:"scoreGiven,omitempty"`
	ScoreMaximum     float64   `json:"scoreMaximum"`
	Timestamp        time.Time `json:"timestamp"`
	Comment          string    `json:"comment,omitempty"`
}
