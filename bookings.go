package examgate

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// BookingStore is the persistence booking needs. Every method that changes a
// booking takes its seat accounting, its client key and its jobs into the
// same transaction.
type BookingStore interface {
	Eligibility(ctx context.Context, candidateID int64, examCode string) (*Eligibility, error)
	SeatsTaken(ctx context.Context, examCode string, from, to time.Time) (map[int64]int, error) // unix start → seats
	BookingsOf(ctx context.Context, candidateID int64, examCode string) ([]*Booking, error)
	BookingByID(ctx context.Context, id int64) (*Booking, error)
	// BookingByLinkToken returns the booking an email or calendar link
	// names, or a NotFound error.
	BookingByLinkToken(ctx context.Context, token string) (*Booking, error)
	// BookingByRequest returns the booking a client key already acted on,
	// with the action, or a NotFound error.
	BookingByRequest(ctx context.Context, candidateID int64, clientKey string) (*Booking, string, error)
	// CreateBooking takes a seat (ESLOTFULL when none is left) and inserts
	// the booking (ECONFLICT when the candidate has a pending one).
	CreateBooking(ctx context.Context, b *Booking, seats int, req Request, jobs JobsFunc) (*Booking, error)
	// MoveBooking takes the seat of the new slot and frees the old one; it
	// fails with ECONFLICT if the booking changed since it was read.
	MoveBooking(ctx context.Context, b *Booking, start, end time.Time, seats int, req Request, jobs JobsFunc) (*Booking, error)
	// ChangeBookingStatus moves a booking from its current status, freeing
	// its seat when asked; ECONFLICT if the booking changed since it was read.
	ChangeBookingStatus(ctx context.Context, b *Booking, to BookingStatus, freeSeat bool, req Request, jobs JobsFunc) (*Booking, error)
	// MarkNoShows marks pending bookings of an exam that started at or
	// before startedBefore as no_show; with endEligibility the candidates' windows
	// end at now.
	MarkNoShows(ctx context.Context, examCode string, startedBefore, now time.Time, endEligibility bool, jobs JobsFunc) ([]*Booking, error)
	SetTimeZone(ctx context.Context, candidateID int64, tz string) (*Candidate, error)
	CandidateByID(ctx context.Context, id int64) (*Candidate, error)
}

// Request identifies one user action for idempotency.
type Request struct {
	CandidateID int64
	ClientKey   string
	Action      string
	At          time.Time
}

// JobsFunc returns the jobs a change causes, given the booking as changed.
type JobsFunc func(*Booking) ([]Job, error)

// Booking actions, also the key of the request log.
const (
	ActionBook       = "book"
	ActionCancel     = "cancel"
	ActionReschedule = "reschedule"
	ActionStart      = "start"
)

// MaxSlotRange bounds one availableSlots query.
const MaxSlotRange = 92 * 24 * time.Hour

// JobBookingEmail is the job kind of booking confirmation emails.
const JobBookingEmail = "email.booking"

// BookingEmailJob is the payload of a JobBookingEmail job: a snapshot of the
// booking when the event happened, so that the email says what happened
// even if the booking changed again before the mail went out.
type BookingEmailJob struct {
	Event         string    `json:"event"` // booked, rescheduled, cancelled
	CandidateID   int64     `json:"candidateId"`
	Booking       Booking   `json:"booking"`
	PreviousStart time.Time `json:"previousStart,omitzero"`
}

// Bookings is the booking use case: slots, book, cancel, reschedule, start.
type Bookings struct {
	Store   BookingStore
	Catalog *Catalog
	Clock   Clock
	Logger  *slog.Logger
	// Wake, when set, is called after a change that enqueued jobs, so that
	// the worker of this process picks them up at once.
	Wake func()
	// Attempts starts the attempt of a booking whose exam is delivered
	// online; without it, Start only marks the booking started.
	Attempts *Attempts
	// Events, when set, returns the jobs announcing a booking event
	// (EventBookingCreated…) to partners, enqueued in the change's
	// transaction; BookingEventJobs is the one for webhooks.
	Events func(event string, b *Booking) ([]Job, error)
}

func (s *Bookings) bookableExam(code string) (*Exam, error) {
	exam, err := s.Catalog.Exam(code)
	if err != nil {
		return nil, err
	}
	if exam.Availability == nil {
		return nil, Errorf(EINVALID, "This exam has no time slots to book. Contact support.")
	}
	return exam, nil
}

// AvailableSlots returns the slots in [from, to) the candidate may book now.
func (s *Bookings) AvailableSlots(ctx context.Context, candidateID int64, examCode string, from, to time.Time) ([]Slot, error) {
	exam, err := s.bookableExam(examCode)
	if err != nil {
		return nil, err
	}
	if !from.Before(to) || to.Sub(from) > MaxSlotRange {
		return nil, Errorf(EINVALID, "Ask for slots in a range of at most 92 days, with from before to.")
	}
	elig, err := s.eligibility(ctx, candidateID, examCode)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if elig == nil || !elig.Active(now) {
		return []Slot{}, nil
	}
	a := exam.Availability
	from = maxTime(from, now.Add(a.LeadTime.D()))
	to = minTime(to, elig.EndsAt)
	if !from.Before(to) {
		return []Slot{}, nil
	}
	slots := a.Slots(exam.Code, from, to)
	taken, err := s.Store.SeatsTaken(ctx, exam.Code, from, to)
	if err != nil {
		return nil, err
	}
	open := slots[:0]
	for _, sl := range slots {
		sl.Taken = taken[sl.StartsAt.Unix()]
		if CanBook(a, elig, sl, now).Allowed {
			open = append(open, sl)
		}
	}
	return open, nil
}

// canAttempt refuses a booking when the candidate has no attempt left or has
// passed; exams taken elsewhere keep no attempts here.
func (s *Bookings) canAttempt(ctx context.Context, candidateID int64, exam *Exam) error {
	if s.Attempts == nil || exam.Delivery == nil {
		return nil
	}
	st, err := s.Attempts.Standing(ctx, candidateID, exam)
	if err != nil {
		return err
	}
	return st.CanAttempt().Err()
}

func (s *Bookings) eligibility(ctx context.Context, candidateID int64, examCode string) (*Eligibility, error) {
	elig, err := s.Store.Eligibility(ctx, candidateID, examCode)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return elig, err
}

// Book books the slot starting at start.
func (s *Bookings) Book(ctx context.Context, candidateID int64, examCode string, start time.Time, clientKey string) (*Booking, error) {
	if b, err := s.replayed(ctx, candidateID, clientKey, ActionBook); b != nil || err != nil {
		return b, err
	}
	exam, err := s.bookableExam(examCode)
	if err != nil {
		return nil, err
	}
	slot, ok := exam.Availability.SlotAt(exam.Code, start)
	if !ok {
		return nil, Errorf(EINVALID, "That time is not a slot of this exam. Choose a time from the calendar.")
	}
	elig, err := s.eligibility(ctx, candidateID, exam.Code)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if err := CanBook(exam.Availability, elig, slot, now).Err(); err != nil {
		return nil, err
	}
	// A seat is worth nothing without an attempt to sit in it.
	if err := s.canAttempt(ctx, candidateID, exam); err != nil {
		return nil, err
	}
	b, err := s.Store.CreateBooking(ctx, &Booking{
		CandidateID: candidateID, ExamCode: exam.Code, StartsAt: slot.StartsAt, EndsAt: slot.EndsAt,
		TimeZone: exam.Availability.TimeZone, Status: BookingPending, LinkToken: NewLinkToken(), CreatedAt: now, UpdatedAt: now,
	}, exam.Availability.Seats, s.request(candidateID, clientKey, ActionBook, now), s.withEvent(EventBookingCreated, s.emailJob("booked", time.Time{})))
	return s.done(ctx, b, err)
}

// Cancel cancels a pending booking and frees its seat.
func (s *Bookings) Cancel(ctx context.Context, candidateID, bookingID int64, clientKey string) (*Booking, error) {
	if b, err := s.replayed(ctx, candidateID, clientKey, ActionCancel); b != nil || err != nil {
		return b, err
	}
	b, exam, err := s.own(ctx, candidateID, bookingID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if err := exam.Policy.CanCancel(b, now).Err(); err != nil {
		return nil, err
	}
	b, err = s.Store.ChangeBookingStatus(ctx, b, BookingCancelled, true,
		s.request(candidateID, clientKey, ActionCancel, now), s.withEvent(EventBookingCancelled, s.emailJob("cancelled", time.Time{})))
	return s.done(ctx, b, err)
}

// Reschedule moves a pending booking to the slot starting at start. If that
// slot is taken meanwhile, the booking stays where it was.
func (s *Bookings) Reschedule(ctx context.Context, candidateID, bookingID int64, start time.Time, clientKey string) (*Booking, error) {
	if b, err := s.replayed(ctx, candidateID, clientKey, ActionReschedule); b != nil || err != nil {
		return b, err
	}
	b, exam, err := s.own(ctx, candidateID, bookingID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if err := exam.Policy.CanReschedule(b, now).Err(); err != nil {
		return nil, err
	}
	if exam.Availability == nil {
		return nil, Errorf(EINVALID, "This exam has no time slots to book. Contact support.")
	}
	slot, ok := exam.Availability.SlotAt(exam.Code, start)
	if !ok {
		return nil, Errorf(EINVALID, "That time is not a slot of this exam. Choose a time from the calendar.")
	}
	if slot.StartsAt.Equal(b.StartsAt) {
		return nil, Errorf(EINVALID, "Your booking is already at that time. Choose another time.")
	}
	elig, err := s.eligibility(ctx, candidateID, exam.Code)
	if err != nil {
		return nil, err
	}
	if err := CanBook(exam.Availability, elig, slot, now).Err(); err != nil {
		return nil, err
	}
	moved, err := s.Store.MoveBooking(ctx, b, slot.StartsAt, slot.EndsAt, exam.Availability.Seats,
		s.request(candidateID, clientKey, ActionReschedule, now), s.withEvent(EventBookingRescheduled, s.emailJob("rescheduled", b.StartsAt)))
	return s.done(ctx, moved, err)
}

// Start begins the exam of a pending booking inside its check-in window.
func (s *Bookings) Start(ctx context.Context, candidateID, bookingID int64, clientKey string) (*Booking, error) {
	if b, err := s.replayed(ctx, candidateID, clientKey, ActionStart); b != nil || err != nil {
		return b, err
	}
	b, exam, err := s.own(ctx, candidateID, bookingID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if err := exam.Policy.CanStart(b, now).Err(); err != nil {
		return nil, err
	}
	req := s.request(candidateID, clientKey, ActionStart, now)
	if exam.Delivery != nil && s.Attempts != nil {
		if _, err := s.Attempts.StartBooked(ctx, b, req, s.withEvent(EventBookingStarted, nil)); err != nil {
			return s.done(ctx, nil, err)
		}
		return s.Store.BookingByID(ctx, b.ID)
	}
	b, err = s.Store.ChangeBookingStatus(ctx, b, BookingStarted, false, req, s.withEvent(EventBookingStarted, nil))
	return s.done(ctx, b, err)
}

// SweepNoShows marks pending bookings whose check-in window closed unused.
func (s *Bookings) SweepNoShows(ctx context.Context) (int, error) {
	now := s.Clock.Now()
	total := 0
	for _, exam := range s.Catalog.Exams() {
		p := exam.Policy.WithDefaults()
		marked, err := s.Store.MarkNoShows(ctx, exam.Code, now.Add(-p.CheckInAfter.D()), now, p.NoShowEndsEligibility, s.withEvent(EventBookingNoShow, nil))
		if err != nil {
			return total, err
		}
		for _, b := range marked {
			s.logger().InfoContext(ctx, "booking marked no-show", "booking_id", b.ID, "exam", b.ExamCode, "starts_at", b.StartsAt)
		}
		total += len(marked)
	}
	if total > 0 && s.Events != nil && s.Wake != nil {
		s.Wake()
	}
	return total, nil
}

// SetTimeZone remembers the candidate's time zone for emails.
func (s *Bookings) SetTimeZone(ctx context.Context, candidateID int64, tz string) (*Candidate, error) {
	if len(tz) > 64 {
		return nil, Errorf(EINVALID, "That is not a time zone name such as Europe/Amsterdam.")
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
		return nil, Errorf(EINVALID, "%q is not a time zone name such as Europe/Amsterdam.", truncateForMessage(tz))
	}
	return s.Store.SetTimeZone(ctx, candidateID, tz)
}

// BookingsOf lists a candidate's bookings of an exam, newest first.
func (s *Bookings) BookingsOf(ctx context.Context, candidateID int64, examCode string) ([]*Booking, error) {
	if _, err := s.Catalog.Exam(examCode); err != nil {
		return nil, err
	}
	return s.Store.BookingsOf(ctx, candidateID, examCode)
}

// ByLink returns the booking of an email or calendar link, with its exam.
// The link is a bearer of the booking's time only: it signs no one in.
func (s *Bookings) ByLink(ctx context.Context, token string) (*Booking, *Exam, error) {
	notFound := Errorf(ENOTFOUND, "This booking link is not valid. Open the exam from your course instead.")
	if len(token) < 16 || len(token) > 64 {
		return nil, nil, notFound
	}
	b, err := s.Store.BookingByLinkToken(ctx, token)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	exam, err := s.Catalog.Exam(b.ExamCode)
	if err != nil {
		return nil, nil, err
	}
	return b, exam, nil
}

// Own returns a booking of the candidate; someone else's is NotFound, so that
// ids cannot be probed.
func (s *Bookings) Own(ctx context.Context, candidateID, bookingID int64) (*Booking, error) {
	b, _, err := s.own(ctx, candidateID, bookingID)
	return b, err
}

func (s *Bookings) own(ctx context.Context, candidateID, bookingID int64) (*Booking, *Exam, error) {
	b, err := s.Store.BookingByID(ctx, bookingID)
	if err != nil || b.CandidateID != candidateID {
		if err == nil || ErrorCode(err) == ENOTFOUND {
			return nil, nil, Errorf(ENOTFOUND, "This booking does not exist. Reload the page.")
		}
		return nil, nil, err
	}
	exam, err := s.Catalog.Exam(b.ExamCode)
	if err != nil {
		return nil, nil, err
	}
	return b, exam, nil
}

// replayed returns the booking a client key already produced, so that a
// retried or doubled request answers like the first one did.
func (s *Bookings) replayed(ctx context.Context, candidateID int64, clientKey, action string) (*Booking, error) {
	if !validClientKey(clientKey) {
		return nil, Errorf(EINVALID, "clientKey must be 8 to 64 printable ASCII characters without spaces; make one per user action.")
	}
	b, prev, err := s.Store.BookingByRequest(ctx, candidateID, clientKey)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, err
	case prev != action:
		return nil, Errorf(EINVALID, "This clientKey was already used for another action; make a new one per user action.")
	}
	return b, nil
}

func (s *Bookings) request(candidateID int64, key, action string, now time.Time) Request {
	return Request{CandidateID: candidateID, ClientKey: key, Action: action, At: now}
}

// done finishes a change: a lost race on the client key answers with the
// booking the winning request made.
func (s *Bookings) done(ctx context.Context, b *Booking, err error) (*Booking, error) {
	if err != nil {
		var dup *DuplicateRequestError
		if asDuplicate(err, &dup) {
			return s.Store.BookingByID(ctx, dup.BookingID)
		}
		return nil, err
	}
	if s.Wake != nil {
		s.Wake()
	}
	return b, nil
}

func (s *Bookings) emailJob(event string, previous time.Time) JobsFunc {
	return func(b *Booking) ([]Job, error) {
		payload, err := json.Marshal(BookingEmailJob{Event: event, CandidateID: b.CandidateID, Booking: *b, PreviousStart: previous})
		if err != nil {
			return nil, err
		}
		return []Job{{Kind: JobBookingEmail, Payload: payload}}, nil
	}
}

// withEvent adds the announcement of event to a change's jobs.
func (s *Bookings) withEvent(event string, jobs JobsFunc) JobsFunc {
	if s.Events == nil {
		return jobs
	}
	return func(b *Booking) ([]Job, error) {
		var out []Job
		if jobs != nil {
			js, err := jobs(b)
			if err != nil {
				return nil, err
			}
			out = js
		}
		ev, err := s.Events(event, b)
		if err != nil {
			return nil, err
		}
		return append(out, ev...), nil
	}
}

func (s *Bookings) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func truncateForMessage(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func validClientKey(k string) bool {
	if len(k) < 8 || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return false
		}
	}
	return true
}
