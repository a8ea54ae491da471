package graph

import (
	"context"
	"strconv"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph/model"
)

var itemTypes = map[string]model.ItemType{
	examgate.ItemSingle:    model.ItemTypeSingle,
	examgate.ItemMultiple:  model.ItemTypeMultiple,
	examgate.ItemTrueFalse: model.ItemTypeTrueFalse,
}

// toAttempt builds the candidate's view of an attempt: the items in this
// attempt's order, without their keys, and the saved answers.
func (r *Resolver) toAttempt(ctx context.Context, a *examgate.Attempt, exam *examgate.Exam) (*model.Attempt, error) {
	m := &model.Attempt{
		ID: strconv.FormatInt(a.ID, 10), ExamCode: a.ExamCode, ExamTitle: exam.Title,
		Status:    model.AttemptStatus(upper(string(a.Status))),
		StartedAt: a.StartedAt, Deadline: a.Deadline, ServerTime: r.Clock.Now(),
		Sections: []*model.AttemptSection{}, Answers: []*model.SavedAnswer{},
	}
	if !a.EndedAt.IsZero() {
		m.EndedAt = &a.EndedAt
	}
	for _, sec := range exam.Delivery.Present(a.Seed) {
		ms := &model.AttemptSection{Items: make([]*model.AttemptItem, len(sec.Items))}
		if sec.Title != "" {
			ms.Title = &sec.Title
		}
		for i, it := range sec.Items {
			opts := make([]*model.ItemOption, len(it.Options))
			for j, o := range it.Options {
				opts[j] = &model.ItemOption{ID: o.ID, Text: o.Text}
			}
			ms.Items[i] = &model.AttemptItem{ID: it.ID, Number: it.Number, Type: itemTypes[it.Type], StemHTML: it.StemHTML, Options: opts, Points: it.Points}
		}
		m.Sections = append(m.Sections, ms)
	}
	answers, err := r.Attempts.Answers(ctx, a)
	if err != nil {
		return nil, err
	}
	for _, ans := range answers {
		m.Answers = append(m.Answers, toSavedAnswer(ans, true))
	}
	if a.Status != examgate.AttemptOpen {
		res, err := r.Attempts.Result(ctx, a)
		if err != nil {
			return nil, err
		}
		m.Result = toResult(res, exam)
	}
	return m, nil
}

func toSavedAnswer(a examgate.Answer, accepted bool) *model.SavedAnswer {
	choices := a.Choices
	if choices == nil {
		choices = []string{}
	}
	return &model.SavedAnswer{ItemID: a.ItemID, Choices: choices, Flagged: a.Flagged, ClientSeq: int(a.ClientSeq), SavedAt: a.SavedAt, Accepted: accepted}
}

func toResult(res *examgate.Result, exam *examgate.Exam) *model.Result {
	m := &model.Result{
		AttemptID: strconv.FormatInt(res.AttemptID, 10), ExamCode: res.ExamCode,
		Score: res.Points, MaxScore: res.MaxPoints, Percent: res.Percent, PassMark: res.PassMark, Passed: res.Passed,
		EndedAt: res.CreatedAt, ResultID: res.ID, CandidateID: res.CandidateID,
	}
	if d := exam.Delivery; d != nil && d.ShowReview {
		for _, it := range res.Items {
			chosen, key := it.Choices, []string{}
			if chosen == nil {
				chosen = []string{}
			}
			if item, ok := d.Item(it.ItemID); ok {
				key = item.Correct
			}
			m.Items = append(m.Items, &model.ItemResult{
				ItemID: it.ItemID, Chosen: chosen, CorrectChoices: key, Correct: it.Correct, Points: it.Points, MaxPoints: it.MaxPoints,
			})
		}
	}
	return m
}

func attemptID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, examgate.Errorf(examgate.ENOTFOUND, "This exam attempt does not exist. Go back to your exam dashboard.")
	}
	return n, nil
}
