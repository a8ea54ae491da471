package graph

import (
	"errors"
	"strconv"

	"github.com/examgate/examgate/graph/model"
)

// DashboardDocument is the web app's exam dashboard, word for word as it
// sends it (ExamDashboardDocument in frontend/src/gql/graphql.ts).
const DashboardDocument = "\n    query ExamDashboard($code: String!) {\n  me {\n    id\n    name\n    email\n    timeZone\n    locale\n  }\n  exam(code: $code) {\n    code\n    title\n    bookable\n    timeZone\n    onDemand\n    durationMinutes\n    itemCount\n    passMark\n    attemptsAllowed\n    attemptsLeft\n  }\n  eligibility(examCode: $code) {\n    endsAt\n    active\n  }\n  bookings(examCode: $code) {\n    ...BookingFields\n  }\n  result(examCode: $code) {\n    attemptId\n    examCode\n    passed\n    percent\n    delivery\n  }\n}\n    fragment BookingFields on Booking {\n  id\n  status\n  startsAt\n  endsAt\n  timeZone\n  checkInOpensAt\n  checkInClosesAt\n  reschedulesLeft\n  canStart {\n    allowed\n    code\n    reason\n  }\n  canCancel {\n    allowed\n    code\n    reason\n  }\n  canReschedule {\n    allowed\n    code\n    reason\n  }\n  calendarUrl\n  attemptId\n  updatedAt\n}"

// runDashboard answers DashboardDocument. The general executor runs the
// five root fields on goroutines of their own; here they run one after the
// other (they share the request's one session read either way), and every
// one runs, as there, so that the errors are the same.
func runDashboard(c *compiledCall, raw []byte) bool {
	var vars struct {
		Code *string `json:"code"`
	}
	if !strictVars(raw, &vars) || vars.Code == nil {
		return false
	}
	code := *vars.Code
	r := c.ops.r
	q := r.Query()
	ctx := c.ctx

	c.data.WriteByte('{')
	c.key(false, "me")
	var me *model.Candidate
	if c.resolve(func() (err error) { me, err = q.Me(ctx); return err }, "me") && me != nil {
		c.data.WriteByte('{')
		c.key(false, "id")
		c.id(me.ID)
		c.key(true, "name")
		c.str(me.Name)
		c.key(true, "email")
		c.str(me.Email)
		c.key(true, "timeZone")
		c.optStr(me.TimeZone)
		c.key(true, "locale")
		c.optStr(me.Locale)
		c.data.WriteByte('}')
	} else {
		c.null()
	}

	c.key(true, "exam")
	var exam *model.Exam
	if c.resolve(func() (err error) { exam, err = q.Exam(ctx, code); return err }, "exam") && exam != nil {
		c.data.WriteByte('{')
		c.key(false, "code")
		c.id(exam.Code)
		c.key(true, "title")
		c.str(exam.Title)
		c.key(true, "bookable")
		c.boolean(exam.Bookable)
		c.key(true, "timeZone")
		c.optStr(exam.TimeZone)
		c.key(true, "onDemand")
		c.boolean(exam.OnDemand)
		c.key(true, "durationMinutes")
		c.optInt(exam.DurationMinutes)
		c.key(true, "itemCount")
		c.optInt(exam.ItemCount)
		c.key(true, "passMark")
		c.optFloat(exam.PassMark)
		c.key(true, "attemptsAllowed")
		c.optInt(exam.AttemptsAllowed)
		c.key(true, "attemptsLeft")
		var left *int
		if c.resolve(func() (err error) { left, err = r.Exam().AttemptsLeft(ctx, exam); return err }, "exam", "attemptsLeft") {
			c.optInt(left)
		} else {
			c.null()
		}
		c.data.WriteByte('}')
	} else {
		c.null()
	}

	c.key(true, "eligibility")
	var elig *model.Eligibility
	if c.resolve(func() (err error) { elig, err = q.Eligibility(ctx, code); return err }, "eligibility") && elig != nil {
		c.data.WriteByte('{')
		c.key(false, "endsAt")
		c.time(elig.EndsAt)
		c.key(true, "active")
		c.boolean(elig.Active)
		c.data.WriteByte('}')
	} else {
		c.null()
	}

	c.key(true, "bookings")
	var bookings []*model.Booking
	if c.resolve(func() (err error) { bookings, err = q.Bookings(ctx, code); return err }, "bookings") {
		c.data.WriteByte('[')
		for i, b := range bookings {
			if i > 0 {
				c.data.WriteByte(',')
			}
			if b == nil || b.CanStart == nil || b.CanCancel == nil || b.CanReschedule == nil {
				// The resolver makes whole bookings; a hole is its bug.
				c.fail(errors.New("bookings["+strconv.Itoa(i)+"] is incomplete"), "bookings", i)
				c.dataNull = true
				continue
			}
			c.booking(b)
		}
		c.data.WriteByte(']')
	} else {
		c.dataNull = true // [Booking!]!: the error takes the data with it
	}

	c.key(true, "result")
	var res *model.Result
	if c.resolve(func() (err error) { res, err = q.Result(ctx, code); return err }, "result") && res != nil {
		var delivery model.DeliveryState
		if c.resolve(func() (err error) { delivery, err = r.Result().Delivery(ctx, res); return err }, "result", "delivery") {
			c.data.WriteByte('{')
			c.key(false, "attemptId")
			c.id(res.AttemptID)
			c.key(true, "examCode")
			c.id(res.ExamCode)
			c.key(true, "passed")
			c.boolean(res.Passed)
			c.key(true, "percent")
			c.float(res.Percent)
			c.key(true, "delivery")
			delivery.MarshalGQL(&c.data)
			c.data.WriteByte('}')
		} else {
			c.null() // delivery is DeliveryState!: the error takes the result with it
		}
	} else {
		c.null()
	}
	c.data.WriteByte('}')
	return true
}

// booking writes the fields of the web app's BookingFields fragment.
func (c *compiledCall) booking(b *model.Booking) {
	c.data.WriteByte('{')
	c.key(false, "id")
	c.id(b.ID)
	c.key(true, "status")
	b.Status.MarshalGQL(&c.data)
	c.key(true, "startsAt")
	c.time(b.StartsAt)
	c.key(true, "endsAt")
	c.time(b.EndsAt)
	c.key(true, "timeZone")
	c.str(b.TimeZone)
	c.key(true, "checkInOpensAt")
	c.time(b.CheckInOpensAt)
	c.key(true, "checkInClosesAt")
	c.time(b.CheckInClosesAt)
	c.key(true, "reschedulesLeft")
	c.integer(b.ReschedulesLeft)
	c.key(true, "canStart")
	c.permission(b.CanStart)
	c.key(true, "canCancel")
	c.permission(b.CanCancel)
	c.key(true, "canReschedule")
	c.permission(b.CanReschedule)
	c.key(true, "calendarUrl")
	c.str(b.CalendarURL)
	c.key(true, "attemptId")
	if b.AttemptID != nil {
		c.id(*b.AttemptID)
	} else {
		c.null()
	}
	c.key(true, "updatedAt")
	c.time(b.UpdatedAt)
	c.data.WriteByte('}')
}

func (c *compiledCall) permission(p *model.Permission) {
	c.data.WriteByte('{')
	c.key(false, "allowed")
	c.boolean(p.Allowed)
	c.key(true, "code")
	c.optStr(p.Code)
	c.key(true, "reason")
	c.optStr(p.Reason)
	c.data.WriteByte('}')
}
