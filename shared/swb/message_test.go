package swb_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
)

const (
	sampleWS  = "8b7e6f1a-2d3c-4e5f-a6b7-c8d9e0f1a2b3"
	sampleARN = "arn:aws:s3:::swb-prod-egress-notification/8b7e6f1a-2d3c-4e5f-a6b7-c8d9e0f1a2b3/cohort-analysis-results-ver3.json"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleMessage returns the contract message with edit applied to its
// decoded fields.
func sampleMessage(t *testing.T, edit func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFile(t, "testdata/swb-egress-message.json"), &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func set(field string, v any) func(map[string]any) {
	return func(m map[string]any) { m[field] = v }
}

func del(field string) func(map[string]any) {
	return func(m map[string]any) { delete(m, field) }
}

func wantInvalid(t *testing.T, err error, wantMsg ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", wantMsg)
	}
	if egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("code = %q, want %q (err %v)", egress.ErrorCode(err), egress.EINVALID, err)
	}
	for _, w := range wantMsg {
		if !strings.Contains(egress.ErrorMessage(err), w) {
			t.Errorf("error %q does not contain %q", egress.ErrorMessage(err), w)
		}
	}
}

func TestParseMessageContract(t *testing.T) {
	got, err := swb.ParseMessage(readFile(t, "testdata/swb-egress-message.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := swb.Message{
		ID:                 "5f0d9a52-3c1e-4b7a-9d2e-7c1a2b3c4d5e",
		EgressStoreID:      sampleWS,
		EgressStoreName:    "cohort-analysis-results",
		WorkspaceID:        sampleWS,
		ProjectID:          "Project-Cardio",
		CreatedAt:          time.Date(2026, 11, 20, 9, 14, 3, 512e6, time.UTC),
		CreatedBy:          "u-2Zk8q1",
		CreatedByEmail:     "researcher@example.org",
		UpdatedAt:          time.Date(2026, 11, 20, 10, 2, 47, 118e6, time.UTC),
		UpdatedBy:          "u-2Zk8q1",
		UpdatedByEmail:     "researcher@example.org",
		S3BucketName:       "swb-prod-egress-store",
		S3BucketPath:       sampleWS + "/",
		Status:             "PENDING",
		Ver:                3,
		ObjectListLocation: sampleARN,
		ObjectListBucket:   "swb-prod-egress-notification",
		ObjectListKey:      sampleWS + "/cohort-analysis-results-ver3.json",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

// A replayed message must give exactly the same result: parsing is pure.
func TestParseMessageReplay(t *testing.T) {
	data := readFile(t, "testdata/swb-egress-message.json")
	now := time.Date(2026, 11, 20, 10, 3, 0, 0, time.UTC)
	first, err1 := swb.ParseMessage(data)
	second, err2 := swb.ParseMessage(data)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !reflect.DeepEqual(first, second) || !reflect.DeepEqual(first.Request(now), second.Request(now)) {
		t.Fatalf("replay differs:\n%+v\n%+v", first, second)
	}
	bad := sampleMessage(t, set("status", "DONE"))
	_, e1 := swb.ParseMessage(bad)
	_, e2 := swb.ParseMessage(bad)
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Fatalf("replayed bad message: %v vs %v", e1, e2)
	}
}

func TestParseMessageVer(t *testing.T) {
	tests := []struct {
		ver     any
		want    int
		wantErr string
	}{
		{3, 3, ""},
		{"3", 3, ""}, // lenient: a string of digits
		{json.RawMessage("3.0"), 3, ""},
		{json.RawMessage("1e1"), 10, ""},
		{0, 0, "ver: must be an integer of at least 1, got 0"},
		{-1, 0, "ver: must be an integer of at least 1, got -1"},
		{3.5, 0, "ver: must be an integer of at least 1, got 3.5"},
		{json.RawMessage("1e20"), 0, "ver: must be an integer of at least 1, got 1e20"},
		{"abc", 0, `ver: must be an integer of at least 1, got "abc"`},
		{"3.0", 0, `ver: must be an integer of at least 1, got "3.0"`},
		{" 3", 0, `ver: must be an integer of at least 1, got " 3"`},
		{"+3", 0, `ver: must be an integer of at least 1, got "+3"`},
		{"", 0, `ver: must be an integer of at least 1, got ""`},
		{true, 0, "ver: must be a number, got JSON boolean"},
		{[]int{3}, 0, "ver: must be a number, got JSON array"},
		{nil, 0, "ver: is required"},
	}
	for _, tt := range tests {
		t.Run(string(must(json.Marshal(tt.ver))), func(t *testing.T) {
			m, err := swb.ParseMessage(sampleMessage(t, set("ver", tt.ver)))
			if tt.wantErr != "" {
				wantInvalid(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Ver != tt.want {
				t.Fatalf("Ver = %d, want %d", m.Ver, tt.want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Each bad field is reported by name; the rest of the message is valid.
func TestParseMessageFieldErrors(t *testing.T) {
	long := strings.Repeat("a", 81)
	tests := []struct {
		name    string
		edit    func(map[string]any)
		wantErr string
	}{
		{"id missing", del("id"), "id: is required"},
		{"id null", set("id", nil), "id: is required"},
		{"id number", set("id", 42), "id: must be a string, got JSON number"},
		{"id object", set("id", map[string]any{}), "id: must be a string, got JSON object"},
		{"id empty", set("id", ""), "id: must not be empty"},
		{"id blank", set("id", "  "), "id: must not be empty"},
		{"id slash", set("id", "a/b"), `id: must be 1 to 80 letters, digits, '-' or '_' (it names the workflow execution), got "a/b"`},
		{"id space", set("id", "a b"), `id: must be 1 to 80 letters`},
		{"id too long", set("id", long), `id: must be 1 to 80 letters`},
		{"id control", set("id", "a\x00b"), `id: must not contain control characters, got "a\x00b"`},
		{"egress_store_id missing", del("egress_store_id"), "egress_store_id: is required"},
		{"egress_store_id differs", set("egress_store_id", "other"), `egress_store_id: must equal workspace_id "` + sampleWS + `", got "other"`},
		{"egress_store_name missing", del("egress_store_name"), "egress_store_name: is required"},
		{"egress_store_name newline", set("egress_store_name", "a\r\nBcc: x@example.org"), `egress_store_name: must not contain control characters, got "a\r\nBcc: x@example.org"`},
		{"workspace_id missing", del("workspace_id"), "workspace_id: is required"},
		{"workspace_id traversal", set("workspace_id", "../x"), `workspace_id: must be 1 to 128 letters, digits, '-' or '_' (it becomes a folder name), got "../x"`},
		{"project_id missing", del("project_id"), "project_id: is required"},
		{"project_id empty", set("project_id", ""), "project_id: must not be empty"},
		{"created_at missing", del("created_at"), "created_at: is required"},
		{"created_at not RFC 3339", set("created_at", "20/11/2026 09:14"), `created_at: must be an RFC 3339 timestamp such as 2026-11-20T09:14:03.512Z, got "20/11/2026 09:14"`},
		{"created_at no zone", set("created_at", "2026-11-20T09:14:03"), `created_at: must be an RFC 3339 timestamp`},
		{"created_at epoch number", set("created_at", 1795000000), "created_at: must be a string, got JSON number"},
		{"created_by missing", del("created_by"), "created_by: is required"},
		{"created_by_email missing", del("created_by_email"), "created_by_email: is required"},
		{"created_by_email no at", set("created_by_email", "researcher"), `created_by_email: must be a plain e-mail address such as someone@example.org, got "researcher"`},
		{"created_by_email with name", set("created_by_email", "Rita <r@example.org>"), `created_by_email: must be a plain e-mail address`},
		{"created_by_email no dot", set("created_by_email", "r@localhost"), `created_by_email: must be a plain e-mail address`},
		{"created_by_email spaces", set("created_by_email", " r@example.org"), `created_by_email: must be a plain e-mail address`},
		{"updated_at bad", set("updated_at", "yesterday"), `updated_at: must be an RFC 3339 timestamp`},
		{"updated_by missing", del("updated_by"), "updated_by: is required"},
		{"updated_by_email bad", set("updated_by_email", "a@@example.org"), `updated_by_email: must be a plain e-mail address`},
		{"s3_bucketname missing", del("s3_bucketname"), "s3_bucketname: is required"},
		{"s3_bucketname upper case", set("s3_bucketname", "Swb_Store"), `s3_bucketname: "Swb_Store" is not a valid S3 bucket name: may contain only lower-case letters, digits, '.' and '-'`},
		{"s3_bucketname short", set("s3_bucketname", "ab"), `s3_bucketname: "ab" is not a valid S3 bucket name: must be 3 to 63 characters long`},
		{"s3_bucketname long", set("s3_bucketname", strings.Repeat("a", 64)), `must be 3 to 63 characters long`},
		{"s3_bucketname hyphen start", set("s3_bucketname", "-abc"), `must begin and end with a letter or digit`},
		{"s3_bucketname double dot", set("s3_bucketname", "a..b"), `must not contain two adjacent periods`},
		{"s3_bucketname IP", set("s3_bucketname", "192.168.5.4"), `must not be formatted as an IP address`},
		{"s3_bucketname reserved prefix", set("s3_bucketname", "xn--abc"), `must not start with the reserved prefix "xn--"`},
		{"s3_bucketname reserved suffix", set("s3_bucketname", "abc-s3alias"), `must not end with the reserved suffix "-s3alias"`},
		{"s3_bucketpath missing", del("s3_bucketpath"), "s3_bucketpath: is required"},
		{"s3_bucketpath no slash", set("s3_bucketpath", sampleWS), `s3_bucketpath: must end with "/", got "` + sampleWS + `"`},
		{"s3_bucketpath other workspace", set("s3_bucketpath", "other/"), `s3_bucketpath: must be the workspace_id followed by "/" ("` + sampleWS + `/"), got "other/"`},
		{"s3_bucketpath root", set("s3_bucketpath", "/"), `s3_bucketpath: must be the workspace_id followed by "/"`},
		{"s3_bucketpath nested", set("s3_bucketpath", sampleWS+"/sub/"), `s3_bucketpath: must be the workspace_id followed by "/"`},
		{"status missing", del("status"), "status: is required"},
		{"status processing", set("status", "PROCESSING"), `status: must be "PENDING", got "PROCESSING"`},
		{"status lower case", set("status", "pending"), `status: must be "PENDING", got "pending"`},
		{"ver missing", del("ver"), "ver: is required"},
		{"list location missing", del("egress_store_object_list_location"), "egress_store_object_list_location: is required"},
		{"list location s3 URL", set("egress_store_object_list_location", "s3://bucket/key.json"), `egress_store_object_list_location: "s3://bucket/key.json" is not an S3 object ARN`},
		{"egress_store_name 390 KB", set("egress_store_name", strings.Repeat("n", 390_000)), "egress_store_name: must be at most 256 characters, got 390000"},
		{"egress_store_name 257 characters", set("egress_store_name", strings.Repeat("é", 257)), "egress_store_name: must be at most 256 characters, got 257"},
		{"project_id too long", set("project_id", strings.Repeat("p", 129)), "project_id: must be at most 128 characters, got 129"},
		{"created_by too long", set("created_by", strings.Repeat("u", 129)), "created_by: must be at most 128 characters"},
		{"updated_by too long", set("updated_by", strings.Repeat("u", 200_000)), "updated_by: must be at most 128 characters, got 200000"},
		{"created_by_email too long", set("created_by_email", strings.Repeat("r", 310)+"@example.org"), "created_by_email: must be at most 320 characters, got 322"},
		{"updated_by_email too long", set("updated_by_email", strings.Repeat("r", 310)+"@example.org"), "updated_by_email: must be at most 320 characters"},
		{"created_at too long", set("created_at", strings.Repeat("2", 65)), "created_at: must be at most 64 characters"},
		{"s3_bucketpath too long", set("s3_bucketpath", strings.Repeat("p", 1025)), "s3_bucketpath: must be at most 1024 characters"},
		{"list location too long", set("egress_store_object_list_location", "arn:aws:s3:::b/"+strings.Repeat("k", 3000)), "egress_store_object_list_location: must be at most 2048 characters, got 3015"},
		{"list location key too long", set("egress_store_object_list_location", "arn:aws:s3:::bucket/"+strings.Repeat("k", 1025)), "key is 1025 bytes long, over S3's limit of 1024"},
		{"list location no key", set("egress_store_object_list_location", "arn:aws:s3:::swb-prod-egress-notification"), `egress_store_object_list_location: "arn:aws:s3:::swb-prod-egress-notification" is not an S3 object ARN (arn:aws:s3:::<bucket>/<key>): no object key after the bucket`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := swb.ParseMessage(sampleMessage(t, tt.edit))
			wantInvalid(t, err, "invalid SWB egress message: ", tt.wantErr)
			// The refusal reaches logs and the admin's e-mail: short, whatever the input.
			if len(err.Error()) > 600 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if n := strings.Count(egress.ErrorMessage(err), "; ") + 1; n != 1 {
				t.Errorf("%d problems reported, want 1: %v", n, err)
			}
		})
	}
}

func TestParseMessageCollectsAllProblems(t *testing.T) {
	data := sampleMessage(t, func(m map[string]any) {
		delete(m, "id")
		m["created_at"] = "soon"
		m["created_by_email"] = "nobody"
		m["s3_bucketname"] = "NO"
		m["status"] = "PROCESSED"
		m["ver"] = 0
		m["unknown_extra"] = "ignored"
	})
	_, err := swb.ParseMessage(data)
	want := []string{"id: is required", "created_at: must be", "created_by_email: must be", "s3_bucketname: ", "status: must be", "ver: must be"}
	wantInvalid(t, err, want...)
	msg := egress.ErrorMessage(err)
	if got := strings.Count(msg, "; ") + 1; got != len(want) {
		t.Fatalf("%d problems reported, want %d: %s", got, len(want), msg)
	}
	last := -1
	for _, w := range want {
		i := strings.Index(msg, w)
		if i < last {
			t.Fatalf("problems not in contract field order: %s", msg)
		}
		last = i
	}
}

func TestParseMessageNotJSON(t *testing.T) {
	tests := []struct {
		data    string
		wantErr string
	}{
		{"", "SWB egress message is empty"},
		{" \n", "SWB egress message is empty"},
		{"not json", "SWB egress message is not JSON: invalid character 'o'"},
		{`{"id": "x"`, "SWB egress message is not JSON: unexpected end of JSON input"},
		{`[1, 2]`, "SWB egress message is not a JSON object"},
		{`null`, "SWB egress message is not a JSON object"},
		{`"{\"id\":\"x\"}"`, "SWB egress message is not a JSON object"}, // double-encoded
		{`{}`, "id: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			_, err := swb.ParseMessage([]byte(tt.data))
			wantInvalid(t, err, tt.wantErr)
		})
	}
}

func TestParseMessageUnknownFieldsIgnored(t *testing.T) {
	m, err := swb.ParseMessage(sampleMessage(t, set("future_field", map[string]any{"x": 1})))
	if err != nil {
		t.Fatal(err)
	}
	if m.Ver != 3 {
		t.Fatalf("Ver = %d", m.Ver)
	}
}

func TestErrorValuesAreShortened(t *testing.T) {
	_, err := swb.ParseMessage(sampleMessage(t, set("status", strings.Repeat("X", 10000))))
	wantInvalid(t, err, `status: must be "PENDING", got "`+strings.Repeat("X", 100)+`"...`)
	if len(err.Error()) > 300 {
		t.Fatalf("error is %d bytes long", len(err.Error()))
	}
}

func TestMessageRequest(t *testing.T) {
	m, err := swb.ParseMessage(readFile(t, "testdata/swb-egress-message.json"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 11, 0, 0, 0, time.FixedZone("BST", 3600))
	want := egress.Request{
		ID:                       "5f0d9a52-3c1e-4b7a-9d2e-7c1a2b3c4d5e",
		StoreName:                "cohort-analysis-results",
		StoreID:                  sampleWS,
		ProjectID:                "Project-Cardio",
		WorkspaceID:              sampleWS,
		RequestedBy:              "u-2Zk8q1",
		RequestedByEmail:         "researcher@example.org",
		RequestedAt:              time.Date(2026, 11, 20, 9, 14, 3, 512e6, time.UTC),
		UpdatedBy:                "u-2Zk8q1",
		UpdatedAt:                time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Status:                   egress.StatusProcessing,
		StoreBucket:              "swb-prod-egress-store",
		StoreBucketPath:          sampleWS + "/",
		ObjectListLocation:       sampleARN,
		SWBObjectMetadataVersion: "3",
	}
	if got := m.Request(now); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// The new request must be a legal creation in the domain.
	if err := egress.CheckTransition("", want.Status); err != nil {
		t.Fatal(err)
	}
}

func TestParseS3ARN(t *testing.T) {
	tests := []struct {
		arn, bucket, key, wantErr string
	}{
		{sampleARN, "swb-prod-egress-notification", sampleWS + "/cohort-analysis-results-ver3.json", ""},
		{"arn:aws-us-gov:s3:::my.bucket/a/b c+d%20.json", "my.bucket", "a/b c+d%20.json", ""},
		{"arn:aws:s3:::bucket/key:with:colons", "bucket", "key:with:colons", ""},
		{"s3://bucket/key", "", "", `want 6 ":"-separated parts starting with "arn"`},
		{"arn:aws:s3::bucket/key", "", "", `want 6 ":"-separated parts`},
		{"ARN:aws:s3:::bucket/key", "", "", `starting with "arn"`},
		{"arn::s3:::bucket/key", "", "", `bad partition ""`},
		{"arn:aws:sqs:::bucket/key", "", "", `service is "sqs", not s3`},
		{"arn:aws:s3:eu-west-2::bucket/key", "", "", "region and account must be empty"},
		{"arn:aws:s3::111122223333:bucket/key", "", "", "region and account must be empty"},
		{"arn:aws:s3:::bucket", "", "", "no object key after the bucket"},
		{"arn:aws:s3:::bucket/", "", "", "no object key after the bucket"},
		{"arn:aws:s3:::Bucket_1/key", "", "", `bucket "Bucket_1" may contain only lower-case letters`},
		{"arn:aws:s3:::/key", "", "", `bucket "" must be 3 to 63 characters long`},
		{"arn:aws:s3:::bucket/a\nb", "", "", "key has invalid or control characters"},
		{"arn:aws:s3:::bucket/a\xffb", "", "", "key has invalid or control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			b, k, err := swb.ParseS3ARN(tt.arn)
			if tt.wantErr != "" {
				wantInvalid(t, err, "is not an S3 object ARN (arn:aws:s3:::<bucket>/<key>): ", tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b != tt.bucket || k != tt.key {
				t.Fatalf("got %q %q, want %q %q", b, k, tt.bucket, tt.key)
			}
		})
	}
}
