package examgate

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// AttemptStore is the persistence exam delivery needs.
type AttemptStore interface {
	// StartAttempt inserts the attempt and, for a booked exam, moves the
	// booking from pending to started, in one transaction with the client
	// key; for a candidate from an LTI platform it fixes there where the
	// attempt's scores go (LTIContexts.LTIAttempt). ECONFLICT when the
	// candidate already has an open attempt. With a booking, jobs (may be
	// nil) are given the started booking and enqueued in that transaction.
	StartAttempt(ctx context.Context, a *Attempt, b *Booking, req Request, jobs JobsFunc) (*Attempt, error)
	AttemptByID(ctx context.Context, id int64) (*Attempt, error)
	AttemptByBooking(ctx context.Context, bookingID int64) (*Attempt, error)
	OpenAttempt(ctx context.Context, candidateID int64, examCode string) (*Attempt, error)
	// AttemptStanding counts the candidate's attempts of an exam and says
	// whether one of them passed, in one read.
	AttemptStanding(ctx context.Context, candidateID int64, examCode string) (used int, passed bool, err error)
	Answers(ctx context.Context, attemptID int64) ([]Answer, error)
	// SaveChoices stores the choices unless a save with a higher or equal
	// ClientSeq is stored; it returns the stored answer either way.
	SaveChoices(ctx context.Context, attemptID int64, a Answer) (Answer, error)
	// SaveFlag is SaveChoices for the flag, with its own sequence.
	SaveFlag(ctx context.Context, attemptID int64, a Answer) (Answer, error)
	// SaveIfOpen is the fast path of an autosave: one guarded write of the
	// choices (or of the flag, when flag is set) that lands only if the
	// attempt is open, is g's candidate's and exam's, has a deadline at or
	// after g.NotBefore, and holds no save of the same kind with a
	// higher or equal ClientSeq. wrote reports whether it landed; when it
	// did not, nothing changed, and SaveChoices or SaveFlag tell why.
	// A nil error with wrote set means the save is durable.
	SaveIfOpen(ctx context.Context, g SaveGuard, a Answer, flag bool) (stored Answer, wrote bool, err error)
	// CompleteAttempt ends an open attempt, stores its result and, for a
	// booked exam, completes the booking, in one transaction; jobs (the
	// result's delivery) are enqueued in it too. ECONFLICT if it had ended.
	// The score is computed from the answers read inside that transaction.
	CompleteAttempt(ctx context.Context, a *Attempt, status AttemptStatus, endedAt time.Time, score func([]Answer) Score, jobs func(*Result) ([]Job, error)) (*Result, error)
	// OverdueAttempts lists up to limit open attempts with a deadline before
	// the given time, in (deadline, id) order, after the attempt after
	// (from the start when nil).
	OverdueAttempts(ctx context.Context, before time.Time, after *Attempt, limit int) ([]*Attempt, error)
	ResultByAttempt(ctx context.Context, attemptID int64) (*Result, error)
	LatestResult(ctx context.Context, candidateID int64, examCode string) (*Result, error)
	Accommodation(ctx context.Context, candidateID int64, examCode string) (float64, error)
	Eligibility(ctx context.Context, candidateID int64, examCode string) (*Eligibility, error)
}

// SaveGuard is what must hold for a save to land (see SaveIfOpen).
type SaveGuard struct {
	AttemptID   int64
	CandidateID int64
	ExamCode    string
	NotBefore   time.Time // the deadline must be at or after this: now - grace
	// TokenHash, when set, names a session not read yet: it must be the
	// candidate's and live at Now, checked by the save's own statement.
	TokenHash string
	Now       time.Time
}

// Attempts is the exam delivery use case.
type Attempts struct {
	Store   AttemptStore
	Catalog *Catalog
	Clock   Clock
	Logger  *slog.Logger
	// ResultJobs returns the jobs that deliver a result to TI, given the
	// candidate's eligibility for the exam (nil if none); nil enqueues none.
	ResultJobs func(*Result, *Eligibility) ([]Job, error)
	// ResultEvents returns the jobs every result gets, wherever its
	// candidate came from (the partner webhook event); nil enqueues none.
	ResultEvents func(*Result) ([]Job, error)
	// Wake, when set, tells this process's worker that jobs were enqueued.
	Wake func()
	// LTI, when set, sends scores to the LTI platform a candidate came
	// from: in progress at the start, completed with the result (instead of
	// ResultJobs, which deliver to TI).
	LTI LTIContexts

	owners ownerCache
}

// ownerCache remembers the candidate and exam of attempts this process has
// served: both are fixed when the attempt starts, so an autosave needs no
// read of the attempt to find which exam validates the answer. It is only
// a hint: SaveIfOpen checks both again in its write.
type ownerCache struct {
	mu sync.Mutex
	m  map[int64]attemptOwner
}

type attemptOwner struct {
	candidateID int64
	examCode    string
}

// maxOwners bounds the cache (a few MB); when full it starts over, which
// costs one read per attempt in use.
const maxOwners = 50_000

func (c *ownerCache) get(attemptID int64) (attemptOwner, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.m[attemptID]
	return o, ok
}

func (c *ownerCache) put(attemptID int64, o attemptOwner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxOwners {
		c.m = make(map[int64]attemptOwner)
	}
	c.m[attemptID] = o
}

var (
	errAttemptNotFound = Errorf(ENOTFOUND, "This exam attempt does not exist. Go back to your exam dashboard.")
	errAttemptEnded    = Errorf(ECONFLICT, "This attempt has ended: time is up or it was submitted. Your saved answers were scored.")
)

func (s *Attempts) deliverableExam(code string) (*Exam, error) {
	exam, err := s.Catalog.Exam(code)
	if err != nil {
		return nil, err
	}
	if exam.Delivery == nil {
		return nil, Errorf(EINVALID, "This exam cannot be taken online. Contact support.")
	}
	return exam, nil
}

// Standing is where a candidate stands with an exam delivered in the
// browser: how many attempts they have and whether one passed.
type Standing struct {
	Allowed int // attempts the exam allows
	Used    int
	Passed  bool
}

// Left is how many more attempts the candidate may start.
func (st Standing) Left() int {
	if st.Passed {
		return 0
	}
	return max(0, st.Allowed-st.Used)
}

// CanAttempt says whether another attempt (or a booking for one) is allowed.
func (st Standing) CanAttempt() Decision {
	switch {
	case st.Passed:
		// A later fail would post "incomplete" over the pass and reset the course.
		return refusal(EALREADYPASSED, "You have already passed this exam.")
	case st.Used >= st.Allowed:
		return refusal(ENOATTEMPTSLEFT, "You have used all %s for this exam. Contact support if you need another.", pluralize(st.Allowed, "attempt"))
	}
	return Decision{Allowed: true}
}

// Standing reads the candidate's standing with a deliverable exam.
func (s *Attempts) Standing(ctx context.Context, candidateID int64, exam *Exam) (Standing, error) {
	st := Standing{Allowed: exam.Delivery.Attempts()}
	var err error
	st.Used, st.Passed, err = s.Store.AttemptStanding(ctx, candidateID, exam.Code)
	return st, err
}

// StandingOf is Standing for an exam code; ok is false when the exam is not
// delivered in the browser, where examgate keeps no attempts.
func (s *Attempts) StandingOf(ctx context.Context, candidateID int64, examCode string) (st Standing, ok bool, err error) {
	exam, err := s.Catalog.Exam(examCode)
	if err != nil || exam.Delivery == nil {
		return Standing{}, false, err
	}
	st, err = s.Standing(ctx, candidateID, exam)
	return st, err == nil, err
}

// begin builds a new attempt after checking the attempt limit.
func (s *Attempts) begin(ctx context.Context, candidateID int64, exam *Exam, now time.Time) (*Attempt, error) {
	st, err := s.Standing(ctx, candidateID, exam)
	if err != nil {
		return nil, err
	}
	if err := st.CanAttempt().Err(); err != nil {
		return nil, err
	}
	mult, err := s.Store.Accommodation(ctx, candidateID, exam.Code)
	if err != nil {
		return nil, err
	}
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	return &Attempt{
		CandidateID: candidateID, ExamCode: exam.Code,
		Seed:      int64(binary.LittleEndian.Uint64(seed[:]) >> 1),
		StartedAt: now, Deadline: AttemptDeadline(now, exam.Delivery, mult), Status: AttemptOpen,
	}, nil
}

// StartBooked starts the attempt of a pending booking; the caller has
// checked the check-in window. jobs (may be nil) are enqueued with the
// start.
func (s *Attempts) StartBooked(ctx context.Context, b *Booking, req Request, jobs JobsFunc) (*Attempt, error) {
	exam, err := s.deliverableExam(b.ExamCode)
	if err != nil {
		return nil, err
	}
	a, err := s.begin(ctx, b.CandidateID, exam, req.At)
	if err != nil {
		return nil, err
	}
	a.BookingID = b.ID
	started, err := s.known(s.Store.StartAttempt(ctx, a, b, req, jobs))
	if err != nil {
		return nil, err
	}
	s.ltiStarted(ctx, a, started, exam)
	return started, nil
}

// StartOnDemand starts an exam that needs no booking, inside the
// candidate's eligibility; an open attempt is returned as it is.
func (s *Attempts) StartOnDemand(ctx context.Context, candidateID int64, examCode, clientKey string, elig *Eligibility) (*Attempt, error) {
	exam, err := s.deliverableExam(examCode)
	if err != nil {
		return nil, err
	}
	if !exam.Delivery.OnDemand {
		return nil, Errorf(EINVALID, "This exam starts from a booking. Book a time slot first.")
	}
	if open, err := s.Store.OpenAttempt(ctx, candidateID, exam.Code); err == nil {
		return s.known(open, nil)
	} else if ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	now := s.Clock.Now()
	if elig == nil || !elig.Active(now) {
		return nil, Errorf(EOUTSIDEELIGIBILITY, "Your eligibility for this exam has ended. Contact support.")
	}
	a, err := s.begin(ctx, candidateID, exam, now)
	if err != nil {
		return nil, err
	}
	started, err := s.known(s.Store.StartAttempt(ctx, a, nil, Request{CandidateID: candidateID, ClientKey: clientKey, Action: ActionStart, At: now}, nil))
	if err != nil {
		return nil, err
	}
	s.ltiStarted(ctx, a, started, exam)
	return started, nil
}

// ltiStarted enqueues the in-progress score of an attempt this call created
// (not one a repeated request returned) for a candidate from LTI. It is
// enqueued after the start commits: losing it in a crash loses only the
// progress report, and the attempt's key still sends it before the result.
func (s *Attempts) ltiStarted(ctx context.Context, built, started *Attempt, exam *Exam) {
	if s.LTI == nil || started.Seed != built.Seed || !started.StartedAt.Equal(built.StartedAt) {
		return
	}
	lc, err := s.ltiContext(ctx, started)
	if err == nil && lc != nil {
		var job Job
		if job, err = LTIStartedJob(lc, started, exam); err == nil {
			err = s.LTI.Enqueue(ctx, s.Clock.Now(), job)
		}
	}
	if err != nil {
		s.logger().ErrorContext(ctx, "could not queue the in-progress score for the LTI platform", "attempt_id", started.ID, "err", err)
		return
	}
	if lc != nil && s.Wake != nil {
		s.Wake()
	}
}

// ltiContext returns where the candidate's scores for the attempt's exam go,
// or nil when they did not come from an LTI platform that takes scores.
func (s *Attempts) ltiContext(ctx context.Context, a *Attempt) (*LTIContext, error) {
	lc, err := s.LTI.LTIAttempt(ctx, a.ID)
	if ErrorCode(err) == ENOTFOUND || (err == nil && !lc.TakesScores()) {
		return nil, nil
	}
	return lc, err
}

// known remembers who owns a started attempt, for its autosaves.
func (s *Attempts) known(a *Attempt, err error) (*Attempt, error) {
	if err == nil {
		s.owners.put(a.ID, attemptOwner{candidateID: a.CandidateID, examCode: a.ExamCode})
	}
	return a, err
}

// Own returns one of the candidate's attempts, closing it first if its time
// ran out, so that every read sees the true state.
func (s *Attempts) Own(ctx context.Context, candidateID, attemptID int64) (*Attempt, *Exam, error) {
	a, err := s.Store.AttemptByID(ctx, attemptID)
	if err != nil || a.CandidateID != candidateID {
		if err == nil || ErrorCode(err) == ENOTFOUND {
			return nil, nil, errAttemptNotFound
		}
		return nil, nil, err
	}
	exam, err := s.deliverableExam(a.ExamCode)
	if err != nil {
		return nil, nil, err
	}
	s.known(a, nil)
	if a.Status == AttemptOpen && s.Clock.Now().After(a.Deadline.Add(exam.Delivery.GraceD())) {
		if err := s.close(ctx, a, exam, AttemptTimedOut, a.Deadline); err != nil {
			return nil, nil, err
		}
	}
	return a, exam, nil
}

// SaveChoices stores the answer to one item of an open attempt of the
// session's candidate. A save to an attempt this process knows checks the
// session in the save's own statement, unread until then; any save that
// does not land that way reads the session and takes the full checks,
// which answer why.
func (s *Attempts) SaveChoices(ctx context.Context, who *SessionRef, attemptID int64, itemID string, choices []string, seq int64) (Answer, bool, error) {
	now := s.Clock.Now()
	if g, item, ok := s.guard(who, attemptID, itemID, now); ok && ValidChoices(item, choices) == nil {
		stored, wrote, err := s.Store.SaveIfOpen(ctx, g, Answer{ItemID: item.ID, Choices: sortedChoices(choices), ClientSeq: seq, SavedAt: now}, false)
		if err != nil || wrote {
			return stored, wrote, verifiedBy(who, wrote, err)
		}
	}
	// Not written: a first save, an older or repeated one, or one that must
	// be refused; the checks below say which.
	a, _, item, err := s.writable(ctx, who, attemptID, itemID)
	if err != nil {
		return Answer{}, false, err
	}
	if err := ValidChoices(item, choices); err != nil {
		return Answer{}, false, err
	}
	stored, err := s.Store.SaveChoices(ctx, a.ID, Answer{ItemID: item.ID, Choices: sortedChoices(choices), ClientSeq: seq, SavedAt: s.Clock.Now()})
	return stored, err == nil && stored.ClientSeq == seq, err
}

// SaveFlag flags or unflags one item of an open attempt, as SaveChoices.
func (s *Attempts) SaveFlag(ctx context.Context, who *SessionRef, attemptID int64, itemID string, flagged bool, seq int64) (Answer, bool, error) {
	now := s.Clock.Now()
	if g, _, ok := s.guard(who, attemptID, itemID, now); ok {
		stored, wrote, err := s.Store.SaveIfOpen(ctx, g, Answer{ItemID: itemID, Flagged: flagged, ClientSeq: seq, SavedAt: now}, true)
		if err != nil || wrote {
			return stored, wrote, verifiedBy(who, wrote, err)
		}
	}
	a, _, item, err := s.writable(ctx, who, attemptID, itemID)
	if err != nil {
		return Answer{}, false, err
	}
	stored, err := s.Store.SaveFlag(ctx, a.ID, Answer{ItemID: item.ID, Flagged: flagged, ClientSeq: seq, SavedAt: s.Clock.Now()})
	return stored, err == nil && stored.Flagged == flagged, err
}

// verifiedBy records that a save which landed found its session live.
func verifiedBy(who *SessionRef, wrote bool, err error) error {
	if wrote {
		who.MarkVerified()
	}
	return err
}

// guard returns what a save to an attempt this process has served must
// satisfy, and the item saved; ok is false when the attempt is not known
// here, is not the candidate's of a session already read, or the item is
// not in its exam (the full checks then answer). With the session not read
// yet, the owner known here is only a hint: the statement checks that the
// session is live and the attempt's candidate's.
func (s *Attempts) guard(who *SessionRef, attemptID int64, itemID string, now time.Time) (SaveGuard, *Item, bool) {
	o, ok := s.owners.get(attemptID)
	if !ok {
		return SaveGuard{}, nil, false
	}
	g := SaveGuard{AttemptID: attemptID, CandidateID: o.candidateID, ExamCode: o.examCode}
	if sess := who.Read(); sess != nil {
		if sess.CandidateID != o.candidateID {
			return SaveGuard{}, nil, false
		}
	} else if g.TokenHash, g.Now = who.TokenHash(), now; g.TokenHash == "" {
		return SaveGuard{}, nil, false // nothing for the statement to check
	}
	exam, err := s.deliverableExam(o.examCode)
	if err != nil {
		return SaveGuard{}, nil, false
	}
	item, ok := exam.Delivery.Item(itemID)
	if !ok {
		return SaveGuard{}, nil, false
	}
	g.NotBefore = now.Add(-exam.Delivery.GraceD())
	return g, item, true
}

func sortedChoices(choices []string) []string {
	choices = slices.Clone(choices)
	slices.Sort(choices)
	return choices
}

func (s *Attempts) writable(ctx context.Context, who *SessionRef, attemptID int64, itemID string) (*Attempt, *Exam, *Item, error) {
	sess, err := who.Session(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	a, exam, err := s.Own(ctx, sess.CandidateID, attemptID)
	if err != nil {
		return nil, nil, nil, err
	}
	if a.Status != AttemptOpen {
		return nil, nil, nil, errAttemptEnded
	}
	item, ok := exam.Delivery.Item(itemID)
	if !ok {
		return nil, nil, nil, Errorf(EINVALID, "This question is not part of the exam. Reload the page.")
	}
	return a, exam, item, nil
}

// Submit ends the attempt at the candidate's request and scores it.
// Submitting an ended attempt returns it unchanged.
func (s *Attempts) Submit(ctx context.Context, candidateID, attemptID int64) (*Attempt, error) {
	a, exam, err := s.Own(ctx, candidateID, attemptID)
	if err != nil {
		return nil, err
	}
	if a.Status != AttemptOpen {
		return a, nil
	}
	if err := s.close(ctx, a, exam, AttemptSubmitted, s.Clock.Now()); err != nil {
		return nil, err
	}
	return a, nil
}

// close scores and ends an open attempt; a concurrent close (another tab,
// the sweep) wins quietly and a is reloaded.
func (s *Attempts) close(ctx context.Context, a *Attempt, exam *Exam, status AttemptStatus, endedAt time.Time) error {
	score := func(answers []Answer) Score {
		chosen := make(map[string][]string, len(answers))
		for _, ans := range answers {
			chosen[ans.ItemID] = ans.Choices
		}
		return exam.Delivery.Score(chosen)
	}
	var deliver func(*Result) ([]Job, error)
	var lti *LTIContext
	if s.LTI != nil {
		var err error
		// Where the attempt's scores go was fixed when it started: a later
		// launch from another course or link does not redirect them.
		if lti, err = s.LTI.LTIAttempt(ctx, a.ID); err != nil && ErrorCode(err) != ENOTFOUND {
			return err
		}
	}
	switch {
	case lti != nil:
		// A candidate from an LTI platform: the result goes there, not to TI.
		deliver = func(r *Result) ([]Job, error) {
			if !lti.TakesScores() {
				return nil, nil // the platform takes no scores
			}
			j, err := LTICompletedJob(lti, exam, r, endedAt)
			return []Job{j}, err
		}
	case s.ResultJobs != nil:
		elig, err := s.Store.Eligibility(ctx, a.CandidateID, a.ExamCode)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return err
		}
		deliver = func(r *Result) ([]Job, error) { return s.ResultJobs(r, elig) }
	}
	jobs := func(r *Result) ([]Job, error) {
		var out []Job
		for _, fn := range []func(*Result) ([]Job, error){deliver, s.ResultEvents} {
			if fn == nil {
				continue
			}
			js, err := fn(r)
			if err != nil {
				return nil, err
			}
			out = append(out, js...)
		}
		return out, nil
	}
	res, err := s.Store.CompleteAttempt(ctx, a, status, endedAt, score, jobs)
	if ErrorCode(err) == ECONFLICT {
		fresh, err := s.Store.AttemptByID(ctx, a.ID)
		if err != nil {
			return err
		}
		*a = *fresh
		return nil
	}
	if err != nil {
		return err
	}
	a.Status, a.EndedAt = status, endedAt
	s.logger().InfoContext(ctx, "attempt ended", "attempt_id", a.ID, "exam", a.ExamCode, "status", status,
		"percent", res.Percent, "passed", res.Passed)
	if s.Wake != nil {
		s.Wake()
	}
	return nil
}

// SweepOverdue closes attempts left open past their deadline and grace,
// with their end time set to the deadline. It pages through the candidates
// with a cursor, so that attempts it must leave open (inside a longer
// grace, or of an exam no longer in the catalog) never hide the ones after
// them.
func (s *Attempts) SweepOverdue(ctx context.Context) (int, error) {
	now := s.Clock.Now()
	closed := 0
	var after *Attempt
	for {
		// The longest grace bounds the query; each attempt is checked exactly.
		list, err := s.Store.OverdueAttempts(ctx, now.Add(-maxGrace), after, sweepPage)
		if err != nil {
			return closed, err
		}
		for _, a := range list {
			exam, err := s.deliverableExam(a.ExamCode)
			if err != nil {
				continue
			}
			if now.After(a.Deadline.Add(exam.Delivery.GraceD())) {
				if err := s.close(ctx, a, exam, AttemptTimedOut, a.Deadline); err != nil {
					return closed, err
				}
				closed++
			}
		}
		if len(list) < sweepPage {
			return closed, nil
		}
		after = list[len(list)-1]
	}
}

// sweepPage is how many overdue attempts SweepOverdue reads at a time.
const sweepPage = 100

// maxGrace is the longest grace an exam may configure.
const maxGrace = 10 * time.Minute

// ByBooking returns the attempt a booking started, or NotFound.
func (s *Attempts) ByBooking(ctx context.Context, bookingID int64) (*Attempt, error) {
	return s.Store.AttemptByBooking(ctx, bookingID)
}

// Answers returns the saved answers of an attempt.
func (s *Attempts) Answers(ctx context.Context, a *Attempt) ([]Answer, error) {
	return s.Store.Answers(ctx, a.ID)
}

// Result returns the result of an ended attempt, or NotFound.
func (s *Attempts) Result(ctx context.Context, a *Attempt) (*Result, error) {
	return s.Store.ResultByAttempt(ctx, a.ID)
}

// LatestResult returns the candidate's newest result for an exam, or nil.
func (s *Attempts) LatestResult(ctx context.Context, candidateID int64, examCode string) (*Result, error) {
	if _, err := s.Catalog.Exam(examCode); err != nil {
		return nil, err
	}
	r, err := s.Store.LatestResult(ctx, candidateID, examCode)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return r, err
}

func (s *Attempts) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
