package local

import (
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

const verifyRelease = `query($id: String!) {
  verifyRelease(egress_request_id: $id) { ok entries_checked problem_count problems { path problem } }
}`

type verification struct {
	OK             bool `json:"ok"`
	EntriesChecked int  `json:"entries_checked"`
	ProblemCount   int  `json:"problem_count"`
	Problems       []struct {
		Path    string `json:"path"`
		Problem string `json:"problem"`
	} `json:"problems"`
}

// Issue 16's acceptance 3, under the API function's role: a release read
// back untouched verifies; after one entry of the zip in the datalake is
// rewritten, verifyRelease names exactly that entry; only TRE admins may
// ask.
func TestVerifyReleaseEndToEnd(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	r := released(t, s, d)
	ig, admin := Reviewer(chain, 0), Reviewer(chain, 1) // the RIT stage's group is TREAdmin
	verify := func() verification {
		t.Helper()
		var out struct {
			V verification `json:"verifyRelease"`
		}
		if err := d.Do(ctx(t), admin, verifyRelease, map[string]any{"id": r.ID}, &out); err != nil {
			t.Fatal(err)
		}
		return out.V
	}

	if v := verify(); !v.OK || v.ProblemCount != 0 || len(v.Problems) != 0 || v.EntriesChecked == 0 {
		t.Fatalf("untouched release: %+v", v)
	}
	if err := d.Do(ctx(t), ig, verifyRelease, map[string]any{"id": r.ID}, nil); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("an IG reviewer through the schema: %v", err)
	}
	if _, err := s.API.VerifyRelease(ctx(t), ig, r.ID); egress.ErrorCode(err) != egress.EFORBIDDEN {
		t.Errorf("an IG reviewer past the schema: %v", err)
	}

	corrupted, err := s.CorruptReleaseEntry(ctx(t), r.ZipKey)
	if err != nil {
		t.Fatal(err)
	}
	v := verify()
	if v.OK || v.ProblemCount == 0 || len(v.Problems) != v.ProblemCount {
		t.Fatalf("corrupted release: %+v", v)
	}
	shaDiffers := false
	for _, p := range v.Problems {
		if p.Path != corrupted {
			t.Errorf("problem at %q (%s), want only %q", p.Path, p.Problem, corrupted)
		}
		shaDiffers = shaDiffers || p.Problem == "SHA-256 differs from the staging manifest"
	}
	if !shaDiffers {
		t.Errorf("no SHA-256 problem among %+v", v.Problems)
	}
}
