package examgate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Job kinds of result delivery to Thought Industries.
const (
	JobTIResult = "ti.result" // post the grade to the assignment
	JobTIReset  = "ti.reset"  // after a failed exam: reset course progress and revoke access
)

// TIResultJob is the payload of both TI job kinds.
type TIResultJob struct {
	ResultID int64 `json:"resultId"`
	// AssignmentID is the assignment TI named in the launch that led to the
	// result, fixed when the result is made so that a later launch cannot
	// redirect the grade; empty means the catalog's.
	AssignmentID string `json:"assignmentId,omitempty"`
}

// ResultJobKey orders a result's jobs: the reset never overtakes the post.
func ResultJobKey(resultID int64) string { return fmt.Sprintf("result:%d", resultID) }

// TIResultJobs is Attempts.ResultJobs for exams reached from TI: the result's
// delivery is enqueued in the transaction that stores the result.
func TIResultJobs(r *Result, elig *Eligibility) ([]Job, error) {
	p := TIResultJob{ResultID: r.ID}
	if elig != nil {
		p.AssignmentID = elig.AssignmentID
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return []Job{{Kind: JobTIResult, Payload: payload, Key: ResultJobKey(r.ID)}}, nil
}

// Delivery states as the learner and staff see them.
const (
	DeliverySending = "sending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
)

// DeliveryState summarises a result's jobs: sent when all are done, failed
// when any failed, sending otherwise.
func DeliveryState(jobs []QueuedJob) string {
	if len(jobs) == 0 {
		return DeliverySending
	}
	state := DeliverySent
	for _, j := range jobs {
		switch j.State {
		case JobFailed:
			return DeliveryFailed
		case JobDone:
		default:
			state = DeliverySending
		}
	}
	return state
}

// TIGrade is the grade TI receives: the percentage, and the feedback TI's
// External Activity flow prescribes.
func TIGrade(r *Result) (status, feedback string) {
	if r.Passed {
		return "completed", "Great Job!"
	}
	return "incomplete", "Failed"
}

// DeliveryStore is what the delivery views need from the job table.
type DeliveryStore interface {
	Jobs(ctx context.Context, f JobFilter) ([]QueuedJob, error)
	JobByID(ctx context.Context, id int64) (*QueuedJob, error)
	RequeueJob(ctx context.Context, id int64, now time.Time) error
	ResultByID(ctx context.Context, id int64) (*Result, error)
}

// Deliveries shows where results are on their way to the learning platform.
type Deliveries struct {
	Store DeliveryStore
	Clock Clock
	// Kinds are the job kinds that deliver results.
	Kinds []string
}

// StateOf returns the delivery state of one result.
func (d *Deliveries) StateOf(ctx context.Context, resultID int64) (string, error) {
	jobs, err := d.Store.Jobs(ctx, JobFilter{Key: ResultJobKey(resultID)})
	if err != nil {
		return "", err
	}
	if len(jobs) == 0 {
		// An LTI learner's result goes to the platform as its attempt's scores.
		r, err := d.Store.ResultByID(ctx, resultID)
		if err != nil {
			return "", err
		}
		if jobs, err = d.Store.Jobs(ctx, JobFilter{Key: LTIScoreJobKey(r.AttemptID)}); err != nil {
			return "", err
		}
	}
	return DeliveryState(jobs), nil
}

// List returns result delivery jobs newest first, for staff.
func (d *Deliveries) List(ctx context.Context, state string, first int, beforeID int64) ([]QueuedJob, error) {
	if err := RequireAdmin(ctx); err != nil {
		return nil, err
	}
	if first < 1 || first > 201 { // one more than a page tells whether another follows
		return nil, Errorf(EINVALID, "first must be between 1 and 200.")
	}
	return d.Store.Jobs(ctx, JobFilter{Kinds: d.Kinds, State: state, BeforeID: beforeID, Limit: first})
}

// Retry queues a failed delivery again, for staff.
func (d *Deliveries) Retry(ctx context.Context, id int64) (*QueuedJob, error) {
	if err := RequireAdmin(ctx); err != nil {
		return nil, err
	}
	job, err := d.Store.JobByID(ctx, id)
	if err != nil || !slices.Contains(d.Kinds, job.Kind) {
		return nil, Errorf(ENOTFOUND, "No delivery with id %d.", id)
	}
	if err := d.Store.RequeueJob(ctx, id, d.Clock.Now()); err != nil {
		return nil, err
	}
	return d.Store.JobByID(ctx, id)
}
