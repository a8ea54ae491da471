package graph

import (
	"encoding/json"
	"errors"

	"github.com/examgate/examgate/graph/model"
)

// SaveAnswerDocument is the web app's autosave, word for word as it sends
// it (PlayerSaveAnswerDocument in frontend/src/gql/graphql.ts).
const SaveAnswerDocument = "\n    mutation PlayerSaveAnswer($input: SaveAnswerInput!) {\n  saveAnswer(input: $input) {\n    itemId\n    choices\n    flagged\n    clientSeq\n    accepted\n  }\n}\n    "

// saveAnswerVars are PlayerSaveAnswer's variables; every field is a pointer
// so that a missing or null one is told from an empty one.
type saveAnswerVars struct {
	Input *struct {
		AttemptID *string      `json:"attemptId"`
		ItemID    *string      `json:"itemId"`
		Choices   *[]*string   `json:"choices"`
		ClientSeq *json.Number `json:"clientSeq"`
	} `json:"input"`
}

// runSaveAnswer answers SaveAnswerDocument: Mutation.saveAnswer and its
// five fields.
func runSaveAnswer(c *compiledCall, raw []byte) bool {
	var vars saveAnswerVars
	if !strictVars(raw, &vars) || vars.Input == nil || vars.Input.AttemptID == nil || vars.Input.ItemID == nil {
		return false
	}
	in := vars.Input
	choices, ok := stringsVar(in.Choices)
	if !ok {
		return false
	}
	seq, ok := intVar(in.ClientSeq)
	if !ok {
		return false
	}
	input := model.SaveAnswerInput{AttemptID: *in.AttemptID, ItemID: *in.ItemID, Choices: choices, ClientSeq: seq}
	r := c.ops.r
	var saved *model.SavedAnswer
	if !c.resolve(func() (err error) { saved, err = r.Mutation().SaveAnswer(c.ctx, input); return err }, "saveAnswer") {
		c.dataNull = true // saveAnswer is SavedAnswer!: the error takes the data with it
		return true
	}
	if saved == nil { // the resolver answers a value or an error
		c.fail(errors.New("saveAnswer resolved to null"), "saveAnswer")
		c.dataNull = true
		return true
	}
	c.data.WriteString(`{"saveAnswer":{`)
	c.key(false, "itemId")
	c.id(saved.ItemID)
	c.key(true, "choices")
	c.data.WriteByte('[')
	for i, ch := range saved.Choices {
		if i > 0 {
			c.data.WriteByte(',')
		}
		c.id(ch)
	}
	c.data.WriteByte(']')
	c.key(true, "flagged")
	c.boolean(saved.Flagged)
	c.key(true, "clientSeq")
	c.integer(saved.ClientSeq)
	c.key(true, "accepted")
	c.boolean(saved.Accepted)
	c.data.WriteString(`}}`)
	return true
}
