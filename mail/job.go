package mail

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/examgate/examgate"
)

// BookingJobs sends the emails of examgate.JobBookingEmail jobs.
type BookingJobs struct {
	Candidates interface {
		CandidateByID(ctx context.Context, id int64) (*examgate.Candidate, error)
	}
	Catalog *examgate.Catalog
	Sender  Sender
	BaseURL string
}

// Handle renders and sends one booking email. A temporary delivery failure
// is retried by the worker; a refused message or a broken payload is not.
func (h *BookingJobs) Handle(ctx context.Context, job *examgate.QueuedJob) error {
	var p examgate.BookingEmailJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return examgate.Permanent(fmt.Errorf("booking email job %d: payload: %w", job.ID, err))
	}
	cand, err := h.Candidates.CandidateByID(ctx, p.CandidateID)
	if err != nil {
		if examgate.ErrorCode(err) == examgate.ENOTFOUND {
			return examgate.Permanent(err)
		}
		return err
	}
	if cand.Email == "" {
		return nil // a learner from an LTI platform that shares no email: nothing to send
	}
	d := BookingDetails{
		To: cand.Email, FirstName: cmp.Or(cand.FirstName, cand.Name), ExamTitle: p.Booking.ExamCode, ExamCode: p.Booking.ExamCode,
		Booking: p.Booking, PreviousStart: p.PreviousStart, LearnerTimeZone: cand.TimeZone,
		LinkURL: BookingURL(h.BaseURL, &p.Booking),
	}
	if exam, err := h.Catalog.Exam(p.Booking.ExamCode); err == nil {
		d.ExamTitle, d.Rules = exam.Title, exam.Policy.Rules()
		if p.Event != KindCancelled {
			// As of the change the email reports, not of its sending.
			d.Locked = exam.Policy.Locked(&p.Booking, p.Booking.UpdatedAt)
		}
		if exam.Delivery != nil {
			d.ExamMinutes = exam.Delivery.DurationMinutes
		}
	}
	msg, err := BookingEmail(p.Event, d)
	if err != nil {
		return examgate.Permanent(err)
	}
	if err := h.Sender.Send(ctx, msg); err != nil {
		if IsTemporary(err) {
			return err
		}
		return examgate.Permanent(err)
	}
	return nil
}
