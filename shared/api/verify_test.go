package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

const verifyQuery = `query Verify($id: String!) {
  verifyRelease(egress_request_id: $id) { egress_request_id ok checked_at entries_checked problem_count problems { path problem } }
}`

var stagedFiles = map[string]string{"results/a.csv": "a,b\n1,2\n", "README.txt": "hello"}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// releaseZip builds a zip as WriteZip does: the entries, SHA256SUMS,
// manifest.json; manifest lists what manifest.json claims (nil: files).
func releaseZip(t *testing.T, files map[string]string, manifest map[string]string, leftOut []egress.LeftOut, withMeta bool) []byte {
	t.Helper()
	if manifest == nil {
		manifest = files
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	for name, body := range files {
		add(name, body)
	}
	if withMeta {
		var sums strings.Builder
		m := egress.ZipManifest{LeftOut: leftOut}
		for name, body := range manifest {
			fmt.Fprintf(&sums, "%s  %s\n", sum(body), name)
			m.Files = append(m.Files, egress.File{Path: name, Size: int64(len(body)), SHA256: sum(body)})
		}
		add(egress.ZipSumsName, sums.String())
		mj, _ := json.Marshal(m)
		add(egress.ZipManifestName, string(mj))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// seedRelease stores a released request whose staging manifest lists
// stagedFiles (with their real sums) and whose zip is body.
func (e *env) seedRelease(t *testing.T, name string, body []byte, leftOut string) egress.Request {
	t.Helper()
	key := "approved_egress/ws/" + strings.ReplaceAll(name, " ", "-") + "/egress_data.zip"
	r := e.seed(t, fixture{name, func(_ *env, r *egress.Request) {
		fixtures[3].build(e, r)
		r.ZipKey = key
		if leftOut != "" {
			r.Reviews[0].Files = []egress.FileDecision{{Path: leftOut, Decision: egress.Rejected, Comment: "identifiable"}}
		}
	}})
	m := egress.Manifest{RequestID: r.ID, WorkspaceID: r.WorkspaceID}
	for _, p := range []string{"results/a.csv", "README.txt"} {
		m.Files = append(m.Files, egress.File{Path: p, Size: int64(len(stagedFiles[p])), SHA256: sum(stagedFiles[p])})
	}
	ctx := context.Background()
	if err := e.objects.WriteManifest(ctx, e.staging, r.StagingObjectMetadataVersion, m); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.datalake), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	return r
}

// Each way a released zip can drift from what was approved is named, at
// its path, and nothing else is.
func TestVerifyReleaseFindsDrift(t *testing.T) {
	e := newEnv(t)
	e.svc.ZipReader = e.objects
	changed := map[string]string{"results/a.csv": "a,b\n1,3\n", "README.txt": "hello"}
	onlyReadme := map[string]string{"README.txt": "hello"}
	extra := map[string]string{"results/a.csv": "a,b\n1,2\n", "README.txt": "hello", "secret.txt": "x"}
	for _, c := range []struct {
		name    string
		zip     []byte
		leftOut string
		want    []egress.ReleaseProblem
	}{
		{"intact", releaseZip(t, stagedFiles, nil, nil, true), "", nil},
		{"one entry changed after release", releaseZip(t, changed, stagedFiles, nil, true), "", []egress.ReleaseProblem{
			{Path: "results/a.csv", Problem: "SHA-256 differs from the staging manifest"},
			{Path: "results/a.csv", Problem: "SHA-256 or size differs from the zip's manifest.json"},
			{Path: "results/a.csv", Problem: "SHA-256 differs from the zip's SHA256SUMS"},
		}},
		{"entry changed and its manifests rewritten", releaseZip(t, changed, nil, nil, true), "", []egress.ReleaseProblem{
			{Path: "results/a.csv", Problem: "SHA-256 differs from the staging manifest"},
		}},
		{"entry removed", releaseZip(t, onlyReadme, stagedFiles, nil, true), "", []egress.ReleaseProblem{
			{Path: "results/a.csv", Problem: "missing from the zip"},
		}},
		{"entry added", releaseZip(t, extra, stagedFiles, nil, true), "", []egress.ReleaseProblem{
			{Path: "secret.txt", Problem: "not in the staging manifest"},
		}},
		{"left-out file absent", releaseZip(t, onlyReadme, nil, []egress.LeftOut{{Path: "results/a.csv"}}, true), "results/a.csv", nil},
		{"left-out file present", releaseZip(t, stagedFiles, nil, nil, true), "results/a.csv", []egress.ReleaseProblem{
			{Path: "results/a.csv", Problem: "left out by the reviewers but in the zip"},
		}},
		{"no manifest.json or SHA256SUMS", releaseZip(t, stagedFiles, nil, nil, false), "", []egress.ReleaseProblem{
			{Path: egress.ZipManifestName, Problem: "missing from the zip"},
			{Path: egress.ZipSumsName, Problem: "missing from the zip"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.seedRelease(t, c.name, c.zip, c.leftOut)
			resp := e.gql(admin, verifyQuery, map[string]any{"id": r.ID})
			if len(resp.Errors) > 0 {
				t.Fatalf("errors: %+v", resp.Errors)
			}
			b, _ := json.Marshal(resp.Data)
			var got struct {
				V api.VerificationView `json:"verifyRelease"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			v := got.V
			if v.RequestID != r.ID || v.OK != (len(c.want) == 0) || v.ProblemCount != len(c.want) || v.CheckedAt == "" {
				t.Errorf("verification %+v", v)
			}
			var ps []egress.ReleaseProblem
			for _, p := range v.Problems {
				ps = append(ps, egress.ReleaseProblem(p))
			}
			if fmt.Sprint(ps) != fmt.Sprint(c.want) {
				t.Errorf("problems\n got %v\nwant %v", ps, c.want)
			}
			zr, err := zip.NewReader(bytes.NewReader(c.zip), int64(len(c.zip)))
			if err != nil {
				t.Fatal(err)
			}
			entries := 0
			for _, f := range zr.File {
				if f.Name != egress.ZipManifestName && f.Name != egress.ZipSumsName {
					entries++
				}
			}
			if v.EntriesChecked != entries {
				t.Errorf("entries_checked %d, want %d", v.EntriesChecked, entries)
			}
		})
	}
}

// Only a TRE admin may verify, only a released, unrevoked request; the
// schema lets only TRE admins through.
func TestVerifyReleaseRules(t *testing.T) {
	e := newEnv(t)
	e.svc.ZipReader = e.objects
	withRevoke(e, 0)
	for _, f := range fixtures {
		for _, c := range []struct {
			name string
			who  egress.Identity
		}{{"admin", admin}, {"IG", igReviewer}, {"no group", noGroup}} {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				r := e.seed(t, f)
				_, err := e.call(c.who, "Query", "verifyRelease", map[string]any{"egress_request_id": r.ID}, nil)
				want := ""
				switch {
				case c.who.Subject != admin.Subject:
					want = egress.EFORBIDDEN
				case r.ZipKey == "":
					want = egress.ECONFLICT
				}
				if got := errorType(err); got != want {
					t.Fatalf("errorType %q, want %q (%v)", got, want, err)
				}
			})
		}
	}
	r := e.seed(t, fixtures[3])
	if _, err := e.call(admin, "Mutation", "revokeRelease", map[string]any{"egress_request_id": r.ID, "reason": "breach"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.call(admin, "Query", "verifyRelease", map[string]any{"egress_request_id": r.ID}, nil)
	if errorType(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "REVOKED") {
		t.Errorf("revoked request: %v", err)
	}
	if _, err := e.call(admin, "Query", "verifyRelease", map[string]any{"egress_request_id": ""}, nil); errorType(err) != egress.EINVALID {
		t.Errorf("no id: %v", err)
	}
	if resp := e.gql(igReviewer, verifyQuery, map[string]any{"id": r.ID}); len(resp.Errors) == 0 || resp.Errors[0].ErrorType != "Unauthorized" {
		t.Errorf("IG reviewer through the schema: %+v", resp.Errors)
	}
}
