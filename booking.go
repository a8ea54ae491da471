package examgate

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"time"
)

// Booking error codes: the SPA turns each into a sentence.
const (
	ESLOTFULL           = "SLOT_FULL"
	EOUTSIDEELIGIBILITY = "OUTSIDE_ELIGIBILITY"
	ECUTOFFPASSED       = "CUTOFF_PASSED"
	ETOOMANYRESCHEDULES = "TOO_MANY_RESCHEDULES"
	ENOTINCHECKIN       = "NOT_IN_CHECKIN_WINDOW"
	ENOATTEMPTSLEFT     = "NO_ATTEMPTS_LEFT"
	EALREADYPASSED      = "ALREADY_PASSED"
)

// BookingStatus is where a booking is in its life.
type BookingStatus string

// Booking states: pending → started → completed; pending → cancelled;
// pending → no_show.
const (
	BookingPending   BookingStatus = "pending"
	BookingStarted   BookingStatus = "started"
	BookingCompleted BookingStatus = "completed"
	BookingCancelled BookingStatus = "cancelled"
	BookingNoShow    BookingStatus = "no_show"
)

// Booking is a candidate's seat in one slot of an exam.
type Booking struct {
	ID          int64
	CandidateID int64
	ExamCode    string
	StartsAt    time.Time
	EndsAt      time.Time
	TimeZone    string // the exam's availability zone, for display and calendars
	Status      BookingStatus
	Reschedules int // how many times it was moved
	// LinkToken is the unguessable part of the booking's link in emails and
	// calendar files (see BookingLinkPath); empty for bookings made before
	// links existed.
	LinkToken string `json:",omitempty"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// BookingLinkPath is the path of a booking's page that needs no session,
// linked from its emails and calendar file.
func BookingLinkPath(token string) string { return "/b/" + token }

// NewLinkToken returns a fresh booking link token: 128 random bits.
func NewLinkToken() string { return rand.Text() }

// Slot is one bookable start time of an exam.
type Slot struct {
	ExamCode string
	StartsAt time.Time
	EndsAt   time.Time
	Seats    int // capacity
	Taken    int // seats booked (pending, started or completed bookings)
}

// SeatsLeft is how many more candidates the slot takes.
func (s Slot) SeatsLeft() int { return max(0, s.Seats-s.Taken) }

// Decision says whether an action is allowed now and, if not, why: Code is
// one of the booking error codes and Reason a sentence for the learner.
type Decision struct {
	Allowed bool
	Code    string
	Reason  string
}

// Err returns nil when allowed, else the decision as an *Error.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &Error{Code: d.Code, Message: d.Reason}
}

// Job is background work written in the same transaction as the state change
// that causes it, and worked later with retries (see Worker).
type Job struct {
	Kind    string          // selects the handler, e.g. "email"
	Payload json.RawMessage // the handler's input, JSON
	RunAt   time.Time       // not before; zero means now
	Key     string          // jobs with the same key run one at a time, in order
	MaxAge  time.Duration   // give up retrying this long after RunAt; zero means DefaultJobMaxAge
}

// DuplicateRequestError reports that a client key was used concurrently and
// the other request won; BookingID is what it produced.
type DuplicateRequestError struct{ BookingID int64 }

func (e *DuplicateRequestError) Error() string { return "duplicate request" }

func asDuplicate(err error, target **DuplicateRequestError) bool { return errors.As(err, target) }
