package graph

import (
	"strconv"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph/model"
)

func toCandidate(c *examgate.Candidate) *model.Candidate {
	m := &model.Candidate{ID: strconv.FormatInt(c.ID, 10), Email: c.Email, FirstName: c.FirstName, LastName: c.LastName}
	if c.ExternalID != "" {
		m.ExternalID = &c.ExternalID
	}
	return m
}

func toExam(e *examgate.Exam) *model.Exam {
	return &model.Exam{Code: e.Code, Title: e.Title, EligibilityDays: e.EligibilityDays}
}
