package lti_test

import (
	"testing"

	"github.com/examgate/examgate/lti"
)

func TestAudience(t *testing.T) {
	const (
		ctx  = "http://purl.imsglobal.org/vocab/lis/v2/membership"
		inst = "http://purl.imsglobal.org/vocab/lis/v2/institution/person"
		sys  = "http://purl.imsglobal.org/vocab/lis/v2/system/person"
	)
	for _, tc := range []struct {
		roles []string
		want  string
	}{
		{[]string{ctx + "#Learner"}, lti.AudienceLearner},
		{[]string{ctx + "/Learner#NonCreditLearner"}, lti.AudienceLearner},
		{[]string{inst + "#Student"}, lti.AudienceLearner},
		{[]string{"Learner"}, lti.AudienceLearner},
		{[]string{}, lti.AudienceLearner},                                 // LTI's "no role"
		{[]string{"http://example.com/custom#Role"}, lti.AudienceLearner}, // unknown
		{[]string{ctx + "#Instructor"}, lti.AudienceStaff},
		{[]string{ctx + "/Instructor#TeachingAssistant"}, lti.AudienceStaff},
		{[]string{ctx + "#ContentDeveloper"}, lti.AudienceStaff},
		{[]string{ctx + "#Administrator"}, lti.AudienceStaff},
		{[]string{ctx + "#Mentor"}, lti.AudienceStaff},
		{[]string{"Instructor"}, lti.AudienceStaff},
		{[]string{ctx + "#Learner", ctx + "#Instructor"}, lti.AudienceStaff},
		// Context roles decide over institution and system roles.
		{[]string{ctx + "#Learner", inst + "#Administrator", sys + "#SysAdmin"}, lti.AudienceLearner},
		{[]string{inst + "#Faculty"}, lti.AudienceStaff},
		{[]string{sys + "#Administrator"}, lti.AudienceStaff},
		// A prefix is not a role.
		{[]string{ctx + "#InstructorX"}, lti.AudienceLearner},
	} {
		if got := lti.Audience(tc.roles); got != tc.want {
			t.Errorf("Audience(%v) = %s, want %s", tc.roles, got, tc.want)
		}
	}
}
