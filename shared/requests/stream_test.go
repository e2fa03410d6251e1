package requests

import (
	"reflect"
	"slices"
	"testing"

	"github.com/tre-egress/egress/shared/auditstream"
)

// publish-events decodes the events table's stream with a record of its
// own (it links no DynamoDB client): it must read every attribute the
// table writes.
func TestStreamRecordMatchesEventRecord(t *testing.T) {
	tags := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			out = append(out, rt.Field(i).Tag.Get("dynamodbav"))
		}
		slices.Sort(out)
		return out
	}
	if got, want := tags(auditstream.Record{}), tags(eventRecord{}); !slices.Equal(got, want) {
		t.Errorf("auditstream.Record's attributes\n %v\nthe events table's (eventRecord)\n %v", got, want)
	}
}

// Imported history is not published: publish-events knows it by its key.
func TestImportSeqIsMarked(t *testing.T) {
	var a auditstream.AuditStream
	if !a.Imported(importSeq(1)) || a.Imported(versionSeq(1)) || a.Imported(downloadSeq(2, 1)) || a.Imported(onceSeq(3, "AWAITING_DECISION")) {
		t.Errorf("auditstream.Imported does not tell importSeq %q from the others", importSeq(1))
	}
}
