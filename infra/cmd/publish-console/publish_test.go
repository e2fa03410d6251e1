package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/amplify"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// fakeAmplify speaks the parts of Amplify Hosting's REST API a manual
// deployment uses (CreateDeployment, StartDeployment, GetJob) and takes
// the zip upload at the URL it hands out, checking the order of calls.
type fakeAmplify struct {
	t        *testing.T
	app      string
	branch   string
	statuses []string // GetJob's answers in turn; the last repeats
	failure  string   // CreateDeployment answers this BadRequestException
	uploadTo int      // the upload's HTTP status (200 when 0)
	onGetJob func(n int)

	mu       sync.Mutex
	calls    []string
	uploaded []byte
	started  bool
	getJobs  int
}

const fakeJob = "7"

func (f *fakeAmplify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	prefix := "/apps/" + f.app + "/branches/" + f.branch
	body, _ := io.ReadAll(r.Body)
	f.calls = append(f.calls, r.Method+" "+strings.TrimPrefix(r.URL.Path, prefix))
	if !strings.HasPrefix(r.URL.Path, "/upload/") && !strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		f.t.Errorf("%s %s is not signed", r.Method, r.URL.Path)
	}
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == prefix+"/deployments":
		if f.failure != "" {
			w.Header().Set("X-Amzn-ErrorType", "BadRequestException")
			w.WriteHeader(http.StatusBadRequest)
			reply(map[string]string{"message": f.failure})
			return
		}
		reply(map[string]any{"jobId": fakeJob, "fileUploadUrls": map[string]string{},
			"zipUploadUrl": "http://" + r.Host + "/upload/" + fakeJob + "?X-Amz-Signature=s3cr3t"})
	case r.Method == http.MethodPut && r.URL.Path == "/upload/"+fakeJob:
		if r.URL.Query().Get("X-Amz-Signature") != "s3cr3t" || r.Header.Get("Content-Type") != "application/zip" {
			f.t.Errorf("upload %s with type %q", r.URL.RawQuery, r.Header.Get("Content-Type"))
		}
		if f.uploadTo != 0 {
			w.WriteHeader(f.uploadTo)
			io.WriteString(w, "<Error><Code>AccessDenied</Code></Error>")
			return
		}
		f.uploaded = body
	case r.Method == http.MethodPost && r.URL.Path == prefix+"/deployments/start":
		var in struct {
			JobID string `json:"jobId"`
		}
		json.Unmarshal(body, &in)
		if in.JobID != fakeJob || f.uploaded == nil {
			w.Header().Set("X-Amzn-ErrorType", "BadRequestException")
			w.WriteHeader(http.StatusBadRequest)
			reply(map[string]string{"message": "no upload for job " + in.JobID})
			return
		}
		f.started = true
		reply(map[string]any{"jobSummary": map[string]any{"jobId": fakeJob, "status": "PENDING", "jobType": "MANUAL"}})
	case r.Method == http.MethodGet && r.URL.Path == prefix+"/jobs/"+fakeJob:
		if !f.started {
			f.t.Error("GetJob before StartDeployment")
		}
		status := f.statuses[min(f.getJobs, len(f.statuses)-1)]
		f.getJobs++
		if f.onGetJob != nil {
			f.onGetJob(f.getJobs)
		}
		job := map[string]any{"summary": map[string]any{"jobId": fakeJob, "status": status, "jobType": "MANUAL"}, "steps": []any{}}
		if status == "FAILED" {
			job["steps"] = []any{
				map[string]any{"stepName": "DEPLOY", "status": "FAILED", "statusReason": "the zip has no index.html at its root",
					"logUrl": "https://logs.example/presigned?X-Amz-Signature=log", "startTime": 1, "endTime": 2},
			}
		}
		reply(map[string]any{"job": job})
	default:
		w.Header().Set("X-Amzn-ErrorType", "NotFoundException")
		w.WriteHeader(http.StatusNotFound)
		reply(map[string]string{"message": "no route " + r.Method + " " + r.URL.Path})
	}
}

// awsConfig points the SDK at srv with test credentials, no retries.
func awsConfig() aws.Config {
	return aws.Config{Region: "eu-west-2", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RetryMaxAttempts: 1}
}

func newPublisher(srv *httptest.Server) *publisher {
	client := amplify.NewFromConfig(awsConfig(), func(o *amplify.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return &publisher{Amplify: client, HTTP: srv.Client(), Poll: time.Millisecond}
}

func TestPublish(t *testing.T) {
	zip := []byte("PK\x03\x04 the bundle")
	for _, tt := range []struct {
		name      string
		fake      *fakeAmplify
		cancelAt  int    // cancel the context at this GetJob
		want      string // "" for success; else in the error
		notInErr  string
		wantCalls []string
	}{
		{name: "deployed", fake: &fakeAmplify{statuses: []string{"PENDING", "RUNNING", "SUCCEED"}},
			wantCalls: []string{"POST /deployments", "PUT /upload/7", "POST /deployments/start", "GET /jobs/7", "GET /jobs/7", "GET /jobs/7"}},
		{name: "job failed", fake: &fakeAmplify{statuses: []string{"RUNNING", "FAILED"}},
			want: "job 7 ended FAILED (DEPLOY FAILED: the zip has no index.html at its root)", notInErr: "X-Amz-Signature"},
		{name: "job cancelled", fake: &fakeAmplify{statuses: []string{"CANCELLED"}}, want: "job 7 ended CANCELLED"},
		{name: "no branch", fake: &fakeAmplify{failure: "Branch console not found"}, want: "create deployment", wantCalls: []string{"POST /deployments"}},
		{name: "upload refused", fake: &fakeAmplify{uploadTo: http.StatusForbidden}, want: "upload the zip to 127.0.0.1", notInErr: "s3cr3t",
			wantCalls: []string{"POST /deployments", "PUT /upload/7"}},
		{name: "timed out", fake: &fakeAmplify{statuses: []string{"RUNNING"}}, cancelAt: 3, want: "job 7 still RUNNING: context canceled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := tt.fake
			f.t, f.app, f.branch = t, "d1a2b3c4", "console"
			if tt.cancelAt > 0 {
				f.onGetJob = func(n int) {
					if n == tt.cancelAt {
						cancel()
					}
				}
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			var logged []string
			p := newPublisher(srv)
			p.Log = func(format string, args ...any) { logged = append(logged, format) }
			job, err := p.publish(ctx, f.app, f.branch, zip)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want == "" && (job != fakeJob || string(f.uploaded) != string(zip)):
				t.Errorf("job %q, uploaded %q", job, f.uploaded)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if tt.notInErr != "" && strings.Contains(err.Error(), tt.notInErr) {
				t.Errorf("the error shows a presigned URL: %v", err)
			}
			if tt.wantCalls != nil && strings.Join(f.calls, ", ") != strings.Join(tt.wantCalls, ", ") {
				t.Errorf("calls %v, want %v", f.calls, tt.wantCalls)
			}
			if strings.Contains(strings.Join(logged, " "), "s3cr3t") {
				t.Errorf("logged the upload URL: %v", logged)
			}
		})
	}
}

// DescribeStacks' outputs, through the SDK against a stand-in speaking
// CloudFormation's query protocol.
func TestDescribeOutputs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("Action") != "DescribeStacks" || r.Form.Get("StackName") != "egress-Prod" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id `+
				r.Form.Get("StackName")+` does not exist</Message></Error></ErrorResponse>`)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>egress-Prod</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>
<member><OutputKey>ConsoleUrl</OutputKey><OutputValue>https://console.example.org</OutputValue></member>
<member><OutputKey>MaxDownloads</OutputKey><OutputValue>3</OutputValue></member>
</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`)
	}))
	defer srv.Close()
	cf := cloudformation.NewFromConfig(awsConfig(), func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	out, err := describeOutputs(context.Background(), cf, "egress-Prod")
	if err != nil || out["ConsoleUrl"] != "https://console.example.org" || out["MaxDownloads"] != "3" || len(out) != 2 {
		t.Fatalf("%v %v", out, err)
	}
	if _, err := describeOutputs(context.Background(), cf, "egress-Nope"); err == nil || !strings.Contains(err.Error(), "describe stack egress-Nope") ||
		!strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing stack: %v", err)
	}
}
