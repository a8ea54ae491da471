package examgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// TIResultPost is one grade posted to a TI assignment.
type TIResultPost struct {
	Status        string // completed | incomplete
	AssignmentID  string
	LearnerID     string
	Grade         float64
	GradeFeedback string
}

// TIResults is what result delivery asks of Thought Industries. Its errors
// are already classified for the worker (RetryAfter, Permanent or plain).
type TIResults interface {
	UserID(ctx context.Context, email string) (string, error)
	PostResult(ctx context.Context, p TIResultPost) error
	ResetProgress(ctx context.Context, learnerID, slug string) error
}

// ResultDeliveryStore is what result delivery reads and writes.
type ResultDeliveryStore interface {
	ResultByID(ctx context.Context, id int64) (*Result, error)
	CandidateByID(ctx context.Context, id int64) (*Candidate, error)
	LatestResult(ctx context.Context, candidateID int64, examCode string) (*Result, error)
	Jobs(ctx context.Context, f JobFilter) ([]QueuedJob, error)
	Enqueue(ctx context.Context, now time.Time, jobs ...Job) error
}

// ResultDelivery works the TI result jobs: the grade first, and for a failed
// exam the course reset after it.
type ResultDelivery struct {
	Store   ResultDeliveryStore
	TI      TIResults
	Catalog *Catalog
	Clock   Clock
	Logger  *slog.Logger
}

type deliveryInput struct {
	job       TIResultJob
	result    *Result
	candidate *Candidate
	exam      *Exam
	learnerID string
}

func (d *ResultDelivery) load(ctx context.Context, job *QueuedJob) (*deliveryInput, error) {
	var p TIResultJob
	if err := json.Unmarshal(job.Payload, &p); err != nil || p.ResultID == 0 {
		return nil, Permanent(fmt.Errorf("job %d: payload is not a result job: %v", job.ID, err))
	}
	r, err := d.Store.ResultByID(ctx, p.ResultID)
	if err != nil {
		return nil, permanentIfNotFound(err)
	}
	cand, err := d.Store.CandidateByID(ctx, r.CandidateID)
	if err != nil {
		return nil, permanentIfNotFound(err)
	}
	exam, err := d.Catalog.Exam(r.ExamCode)
	if err != nil {
		return nil, Permanent(fmt.Errorf("result %d: exam %s is no longer in the catalog", r.ID, r.ExamCode))
	}
	learner := cand.TIUserID
	if learner == "" {
		// Launched without TI's user id: look it up by email, as at launch.
		if learner, err = d.TI.UserID(ctx, cand.Email); err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil, Permanent(fmt.Errorf("TI has no user with the candidate's email: %w", err))
			}
			return nil, err
		}
	}
	return &deliveryInput{job: p, result: r, candidate: cand, exam: exam, learnerID: learner}, nil
}

// superseded reports whether the learner has a newer result for the exam:
// TI keeps one outcome per assignment, so an older result's post or reset
// that was delayed must not land after the newer one's.
func (d *ResultDelivery) superseded(ctx context.Context, in *deliveryInput) (bool, error) {
	latest, err := d.Store.LatestResult(ctx, in.candidate.ID, in.exam.Code)
	if err != nil {
		return false, err
	}
	if latest.ID != in.result.ID {
		d.logger().InfoContext(ctx, "older result not sent to TI: a newer one exists", "result_id", in.result.ID, "newer_result_id", latest.ID)
		return true, nil
	}
	return false, nil
}

// HandleResult posts a result's grade; after a failed exam's grade is
// accepted it enqueues the course reset, which the job key keeps behind it.
// A repeated post (after a crash) sends the same final grade again, which
// TI takes as the same outcome.
func (d *ResultDelivery) HandleResult(ctx context.Context, job *QueuedJob) error {
	in, err := d.load(ctx, job)
	if err != nil {
		return err
	}
	if old, err := d.superseded(ctx, in); old || err != nil {
		return err
	}
	// What TI put in the launch token wins over the catalog.
	assignment := in.job.AssignmentID
	if assignment == "" {
		assignment = in.exam.TI.AssignmentID
	}
	if assignment == "" {
		return Permanent(fmt.Errorf("exam %s has no TI assignment id: TI sent none at launch; set ti.assignmentId in the exam catalog, then retry the delivery", in.exam.Code))
	}
	status, feedback := TIGrade(in.result)
	if err := d.TI.PostResult(ctx, TIResultPost{
		Status: status, AssignmentID: assignment, LearnerID: in.learnerID,
		Grade: in.result.Percent, GradeFeedback: feedback,
	}); err != nil {
		return err
	}
	d.logger().InfoContext(ctx, "result posted to TI", "result_id", in.result.ID, "status", status, "grade", in.result.Percent)
	if in.result.Passed {
		return nil
	}
	key := ResultJobKey(in.result.ID)
	existing, err := d.Store.Jobs(ctx, JobFilter{Kind: JobTIReset, Key: key})
	if err != nil || len(existing) > 0 {
		return err // an earlier run of this job enqueued the reset already
	}
	payload, _ := json.Marshal(TIResultJob{ResultID: in.result.ID, AssignmentID: assignment})
	return d.Store.Enqueue(ctx, d.Clock.Now(), Job{Kind: JobTIReset, Payload: payload, Key: key})
}

// HandleReset resets the course progress and revokes access after a fail,
// so that the learner studies again before another attempt.
func (d *ResultDelivery) HandleReset(ctx context.Context, job *QueuedJob) error {
	in, err := d.load(ctx, job)
	if err != nil {
		return err
	}
	if old, err := d.superseded(ctx, in); old || err != nil {
		return err
	}
	slug := in.exam.TI.CourseSlug
	if slug == "" {
		return Permanent(fmt.Errorf("exam %s has no ti.courseSlug in the catalog: set it, then retry the delivery", in.exam.Code))
	}
	if err := d.TI.ResetProgress(ctx, in.learnerID, slug); err != nil {
		return err
	}
	d.logger().InfoContext(ctx, "course progress reset in TI", "result_id", in.result.ID, "slug", slug)
	return nil
}

func permanentIfNotFound(err error) error {
	var pe *PermanentError
	if ErrorCode(err) == ENOTFOUND && !errors.As(err, &pe) {
		return Permanent(err)
	}
	return err
}

func (d *ResultDelivery) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}
