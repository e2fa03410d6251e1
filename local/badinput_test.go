package local

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/egress"
)

// corpusDir holds the bad-input corpus: each input with a sidecar .expect
// (events/bad/README.md describes the format).
const corpusDir = "../events/bad"

// badCase is one input of the corpus and what it must give.
type badCase struct {
	name   string // file name without extension
	kind   string // message, list, envelope or graphql: the name's prefix
	body   string
	errors []string // "error:" lines: each must be in the outcome
	status string   // "request:" the request's final status, when one is created
	as     string   // "as:" the GraphQL caller
	delete string   // "delete:" a listed file whose versions are deleted before publishing
}

func loadCorpus(t *testing.T) []badCase {
	t.Helper()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []badCase
	expects := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		switch ext := filepath.Ext(name); {
		case e.IsDir() || name == "README.md":
			continue
		case ext == ".expect":
			expects[strings.TrimSuffix(name, ext)] = true
			continue
		}
		base := strings.TrimSuffix(name, filepath.Ext(name))
		body, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Fatal(err)
		}
		exp, err := os.ReadFile(filepath.Join(corpusDir, base+".expect"))
		if err != nil {
			t.Fatalf("%s has no %s.expect: %v", name, base, err)
		}
		c := badCase{name: base, kind: strings.SplitN(base, "-", 2)[0], body: string(body), as: "ig"}
		for line := range strings.Lines(string(exp)) {
			k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), ": ")
			switch {
			case !ok:
				t.Fatalf("%s.expect: %q is not \"key: value\"", base, line)
			case k == "error":
				c.errors = append(c.errors, v)
			case k == "request":
				c.status = v
			case k == "as":
				c.as = v
			case k == "delete":
				c.delete = v
			default:
				t.Fatalf("%s.expect: unknown key %q", base, k)
			}
		}
		if len(c.errors) == 0 {
			t.Fatalf("%s.expect names no error", base)
		}
		if !slices.Contains([]string{"message", "list", "envelope", "graphql"}, c.kind) {
			t.Fatalf("%s: the name must start with message-, list-, envelope- or graphql-", name)
		}
		cases = append(cases, c)
	}
	for base := range expects {
		if !slices.ContainsFunc(cases, func(c badCase) bool { return c.name == base }) {
			t.Errorf("%s.expect has no input", base)
		}
	}
	return cases
}

var (
	placeholder = regexp.MustCompile(`\$\{([A-Z_]+)(?::([^}]*))?\}`)
)

// expand replaces ${NAME} with vars[NAME], ${REPEAT:n} with n "x"s and
// ${VERSION:path} with vars["VERSION:"+path].
func expand(t *testing.T, text string, vars map[string]string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		switch name, arg := sub[1], sub[2]; {
		case name == "REPEAT":
			n, err := strconv.Atoi(arg)
			if err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			return strings.Repeat("x", n)
		case arg != "":
			name += ":" + arg
			fallthrough
		default:
			v, ok := vars[name]
			if !ok {
				t.Fatalf("unknown placeholder %s", m)
			}
			return v
		}
	})
}

// generated expands a list's "generate" spec: count entries whose keys are
// key formatted with their number, each with a version of its own (none
// exists), followed by the list's own "objects".
func generated(t *testing.T, list string) string {
	t.Helper()
	var spec struct {
		Generate *struct {
			Count int    `json:"count"`
			Key   string `json:"key"`
		} `json:"generate"`
		Objects []json.RawMessage `json:"objects"`
	}
	if json.Unmarshal([]byte(list), &spec) != nil || spec.Generate == nil {
		return list
	}
	var b strings.Builder
	b.WriteString(`{"objects":[`)
	for i := range spec.Generate.Count {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"Key":%q,"Size":10,"ETag":"\"e\"","VersionId":"v%08d","StorageClass":"STANDARD"}`, fmt.Sprintf(spec.Generate.Key, i), i)
	}
	for _, o := range spec.Objects {
		b.WriteByte(',')
		b.Write(o)
	}
	b.WriteString("]}")
	return b.String()
}

// TestBadInputCorpus runs every input of events/bad through the path it
// arrives by: SWB's messages through the SNS topic into start-workflow and
// the workflow, object lists as the file a message points at, SNS events
// straight into start-workflow's Lambda handler, GraphQL bodies through
// the HTTP endpoint with development tokens. Each must give its expected
// error; none may crash a handler, leave SWB's store PROCESSING, leave a
// request unfinished or anything staged.
func TestBadInputCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 50 {
		t.Fatalf("%d cases in %s", len(cases), corpusDir)
	}
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: clock.Now}
	other, otherList := submitted(t, s)

	var gql *graphqlTargets
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.kind == "graphql" {
				if gql == nil {
					gql = newGraphqlTargets(t, s)
				}
				gql.run(t, s, c)
				return
			}
			sub, listKey := submitted(t, s)
			vars := map[string]string{
				"REQUEST_ID": sub.RequestID, "WORKSPACE": sub.WorkspaceID, "STORE_BUCKET": SWBStoreBucket, "LIST_BUCKET": NotificationBucket,
				"LIST": "arn:aws:s3:::" + NotificationBucket + "/" + listKey, "OTHER_WORKSPACE": other.WorkspaceID,
				"OTHER_LIST": "arn:aws:s3:::" + NotificationBucket + "/" + otherList, "TOPIC": TopicArn, "MESSAGE_ID": "bad-" + sub.RequestID,
			}
			msgJSON, _ := json.Marshal(sub.Message)
			vars["MESSAGE_JSON"] = string(msgJSON[1 : len(msgJSON)-1])
			for _, v := range listedVersions(t, s, listKey) {
				vars["VERSION:"+strings.TrimPrefix(v[0], sub.WorkspaceID+"/")] = v[1]
			}
			body := expand(t, c.body, vars)
			var outcome []string
			switch c.kind {
			case "message":
				outcome = append(outcome, publishOutcome(t, s, body, vars))
			case "list":
				list := generated(t, body)
				if _, err := s.Clients.S3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(NotificationBucket), Key: aws.String(listKey),
					Body: strings.NewReader(list)}); err != nil {
					t.Fatal(err)
				}
				if c.delete != "" {
					deleteVersions(t, s, sub.WorkspaceID+"/"+c.delete)
				}
				outcome = append(outcome, publishOutcome(t, s, sub.Message, vars))
			case "envelope":
				outcome = append(outcome, invokeOutcome(t, s, "start-workflow", body))
			}
			outcome = append(outcome, adminMails(s, sub.RequestID, vars["MESSAGE_ID"])...)
			if r, err := s.Requests.Get(ctx(t), sub.RequestID); err == nil {
				r, err = s.WaitFor(ctx(t), r.ID, func(r egress.Request) bool { return chain.Final(r.Status) })
				if err != nil {
					t.Fatal(err)
				}
				if c.status != "" && string(r.Status) != c.status {
					t.Errorf("request %s, want %s", r.Status, c.status)
				}
				outcome = append(outcome, r.FailureCause)
			} else if egress.ErrorCode(err) != egress.ENOTFOUND {
				t.Fatal(err)
			} else if c.status != "" {
				t.Errorf("no request created, want one %s", c.status)
			}
			checkOutcome(t, c, strings.Join(outcome, "\n"), vars)
			if st, err := swb.StoreStatus(ctx(t), sub.WorkspaceID); err != nil || st != "PENDING" {
				t.Errorf("SWB store %q (%v), want PENDING", st, err)
			}
			if n, err := s.countVersions(ctx(t), StagingBucket, sub.WorkspaceID+"/"); err != nil || n != 0 {
				t.Errorf("%d versions staged for the workspace (%v)", n, err)
			}
		})
	}
	if gql != nil {
		gql.finish(t, s)
	}
	if strings.Contains(stackLogs[false].String(), "panicked") {
		t.Error("a handler panicked: see the stack's log")
	}
}

// checkOutcome checks that what the case gave names each expected error,
// and that no handler panicked.
func checkOutcome(t *testing.T, c badCase, got string, vars map[string]string) {
	t.Helper()
	t.Logf("outcome: %.600s", got)
	for _, want := range c.errors {
		if want = expand(t, want, vars); !strings.Contains(got, want) {
			t.Errorf("outcome does not say %q:\n%.2000s", want, got)
		}
	}
	if strings.Contains(got, "panic") {
		t.Errorf("a handler panicked:\n%.2000s", got)
	}
}

// listedVersions are the key and version of each object the list at
// listKey names.
func listedVersions(t *testing.T, s *Stack, listKey string) [][2]string {
	t.Helper()
	data, err := s.Objects.Read(ctx(t), NotificationBucket, listKey)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Objects []struct{ Key, VersionId string }
	}
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, o := range list.Objects {
		out = append(out, [2]string{o.Key, o.VersionId})
	}
	return out
}

// deleteVersions deletes every version of key from SWB's store.
func deleteVersions(t *testing.T, s *Stack, key string) {
	t.Helper()
	out, err := s.Clients.S3.ListObjectVersions(ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(SWBStoreBucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			deleteObject(t, s, SWBStoreBucket, key, aws.ToString(v.VersionId))
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no version of %s to delete", key)
	}
}

// publishOutcome publishes message on SWB's topic as SWB does and returns
// the Publish error, if any; vars["MESSAGE_ID"] becomes the SNS message id.
func publishOutcome(t *testing.T, s *Stack, message string, vars map[string]string) string {
	t.Helper()
	out, err := sns.NewFromConfig(s.awsConfig(s.URL), func(o *sns.Options) { o.RetryMaxAttempts = 1 }).
		Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(TopicArn), Message: aws.String(message)})
	if err != nil {
		return err.Error()
	}
	vars["MESSAGE_ID"] = aws.ToString(out.MessageId)
	return ""
}

// invokeOutcome invokes function's Lambda handler with payload, as Lambda
// does, and returns its error, if any (a panic is one).
func invokeOutcome(t *testing.T, s *Stack, function, payload string) (outcome string) {
	t.Helper()
	task := s.tasks[function]
	h, err := app.HandlerByName(task.handlers, task.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != nil {
			outcome = fmt.Sprintf("%s panicked: %v", function, r)
		}
	}()
	if _, err := h.Invoke(ctx(t), []byte(payload)); err != nil {
		return err.Error()
	}
	return ""
}

// adminMails are the texts of the TRE admin's e-mails about request id or
// SNS message messageID.
func adminMails(s *Stack, id, messageID string) []string {
	var out []string
	for _, m := range s.Outbox.Sent() {
		if m.To[0] == AdminEmail && (strings.Contains(m.Subject+m.Text, id) || strings.Contains(m.Text, messageID)) {
			out = append(out, m.Subject+"\n"+m.Text)
		}
	}
	return out
}

// graphqlTargets are the two requests the GraphQL cases aim at: the
// request and another (whose ids and tokens must not work on the first),
// both awaiting their first stage.
type graphqlTargets struct {
	endpoint   string
	sub, other Submission
	r, rOther  egress.Request
	vars       map[string]string
	identities map[string]egress.Identity
}

func newGraphqlTargets(t *testing.T, s *Stack) *graphqlTargets {
	t.Helper()
	chain, _ := s.Config.Chain()
	// The stack's own endpoint: a subtest's server would close with it.
	g := &graphqlTargets{endpoint: s.URL + "/graphql", sub: submit(t, s), other: submit(t, s)}
	g.r, g.rOther = awaiting(t, s, g.sub.RequestID, 0), awaiting(t, s, g.other.RequestID, 0)
	g.vars = map[string]string{
		"REQUEST_ID": g.r.ID, "WORKSPACE": g.r.WorkspaceID, "TASK_TOKEN_REF": api.TokenRef(g.r.TaskToken),
		"OTHER_REQUEST_ID": g.rOther.ID, "OTHER_WORKSPACE": g.rOther.WorkspaceID, "OTHER_TASK_TOKEN_REF": api.TokenRef(g.rOther.TaskToken),
	}
	g.identities = map[string]egress.Identity{
		"ig": Reviewer(chain, 0), "rit": Reviewer(chain, 1),
		"nobody":           {Subject: "sub-nobody", Email: "nobody@example.org"},
		"other-researcher": researcherAt("someone-else@example.org"),
	}
	return g
}

// run posts the case's body as its caller and checks the errors.
func (g *graphqlTargets) run(t *testing.T, s *Stack, c badCase) {
	t.Helper()
	who, ok := g.identities[c.as]
	if !ok {
		t.Fatalf("as: %q is none of %v", c.as, g.identities)
	}
	body := expand(t, c.body, g.vars)
	req, _ := http.NewRequest(http.MethodPost, g.endpoint, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token(t, s, who))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out appsync.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("HTTP %d, body not JSON (%v): %.500s", resp.StatusCode, err, raw)
	}
	if len(out.Errors) == 0 {
		t.Fatalf("HTTP %d, no error: %.500s", resp.StatusCode, raw)
	}
	var got []string
	for _, e := range out.Errors {
		got = append(got, e.ErrorType+": "+e.Message)
	}
	checkOutcome(t, c, strings.Join(got, "\n"), g.vars)
}

// finish checks that no case changed the requests, then rejects both.
func (g *graphqlTargets) finish(t *testing.T, s *Stack) {
	t.Helper()
	chain, _ := s.Config.Chain()
	for _, sub := range []Submission{g.sub, g.other} {
		r, err := s.Requests.Get(ctx(t), sub.RequestID)
		if err != nil || r.Status != egress.StatusProcessing || len(r.Reviews) != 0 {
			t.Errorf("request %s after the bad GraphQL inputs: %s, %d reviews (%v)", r.ID, r.Status, len(r.Reviews), err)
		}
		if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Rejected, "bad-input corpus done", ""); err != nil {
			t.Fatal(err)
		}
		ended(t, s, sub.RequestID, egress.StatusRejected)
	}
}
