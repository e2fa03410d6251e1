package egress

import (
	"slices"
	"testing"
)

func TestCauseOf(t *testing.T) {
	tests := []struct {
		errName string
		want    FailureCause
	}{
		{"States.Timeout", CauseTimeout},
		{"States.HeartbeatTimeout", CauseTimeout},
		{"ExecutionAborted", CauseAborted},
		{EINVALID, CauseInvalid},
		{ECONFLICT, CauseConflict},
		{ENOTFOUND, CauseNotFound},
		{EFORBIDDEN, CauseForbidden},
		{ELIMIT, CauseLimit},
		{"TransientError", CauseTransient},
		{"Lambda.ServiceException", CauseTransient},
		{"DynamoDB.ThrottlingException", CauseTransient},
		{"Runtime.ExitError", CauseInternal},
		{"States.DataLimitExceeded", CauseInternal},
		{"", CauseInternal},
		{"request abc-123: s3://bucket/secret.csv missing", CauseInternal},
	}
	for _, tt := range tests {
		got := CauseOf(tt.errName)
		if got != tt.want {
			t.Errorf("CauseOf(%q) = %s, want %s", tt.errName, got, tt.want)
		}
		if !slices.Contains(FailureCauses(), got) {
			t.Errorf("CauseOf(%q) = %s, not among FailureCauses", tt.errName, got)
		}
	}
}
