package local

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cogtypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/userpool"
)

// requestMail returns the e-mails and notices of request id.
func requestMail(s *Stack, id string) ([]Mail, []Notice) {
	var mails []Mail
	for _, m := range s.Outbox.Sent() {
		if strings.Contains(m.Subject, id) {
			mails = append(mails, m)
		}
	}
	var notices []Notice
	for _, n := range s.Outbox.Notices() {
		if strings.Contains(n.Subject, id) {
			notices = append(notices, n)
		}
	}
	return mails, notices
}

// mailTo returns the e-mails To addr whose subject ends with suffix.
func mailTo(mails []Mail, addr, suffix string) []Mail {
	var out []Mail
	for _, m := range mails {
		if slices.Contains(m.To, addr) && strings.HasSuffix(m.Subject, suffix) {
			out = append(out, m)
		}
	}
	return out
}

// readFile returns the outbox file's content.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("outbox file: %v", err)
	}
	return string(b)
}

// TestReviewersToldWithoutReviewerList is issue 13's acceptance: with the
// original cdk.json's shape (no reviewer addresses configured), each
// stage's topic gets one notice with the original's content, each member
// of the stage's Cognito group gets an e-mail, and the requester gets the
// submission and the decision, the IG reviewer in copy; all of it is in
// the outbox as files a person can open.
func TestReviewersToldWithoutReviewerList(t *testing.T) {
	s := stack(t, false)
	if len(s.Config.ReviewerEmails) != 0 {
		t.Fatalf("the local stack configures reviewer addresses %v; the original cdk.json has none", s.Config.ReviewerEmails)
	}
	chain, _ := s.Config.Chain()
	rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"approve", "approve"}, ServiceDecider{S: s})
	if err != nil || !rep.ExpectedResult {
		t.Fatalf("%v %+v", err, rep)
	}
	r, err := s.Requests.Get(ctx(t), rep.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	mails, notices := requestMail(s, r.ID)
	for i, st := range chain.Stages {
		topic := s.ReviewerTopics[st.Group]
		var on []Notice
		for _, n := range notices {
			if n.Topic == topic {
				on = append(on, n)
			}
		}
		if len(on) != 1 {
			t.Fatalf("%s: %d notices on %s, want 1", st.Name, len(on), topic)
		}
		n := on[0]
		want := []string{"Request: " + r.ID, "Project: " + r.ProjectID, "Researcher: " + researcher,
			"File types: csv (2), md (1), txt (1)"}
		if i > 0 {
			want = append(want, "IG reviewer: "+igReviewer)
		}
		for _, w := range want {
			if !strings.Contains(n.Text, w) {
				t.Errorf("%s notice lacks %q:\n%s", st.Name, w, n.Text)
			}
		}
		if eml := readFile(t, n.File); !strings.Contains(eml, "X-SNS-Topic-Arn: "+topic) || !strings.Contains(eml, "Subject: "+n.Subject) {
			t.Errorf("%s notice file:\n%s", st.Name, eml)
		}
		members := s.Directory.Members(st.Group)
		if len(members) < 2 {
			t.Fatalf("group %s has %d members; the test wants several", st.Group, len(members))
		}
		for _, u := range members {
			if got := mailTo(mails, u.Attributes["email"], "awaits the "+st.Name+" decision"); len(got) != 1 {
				t.Errorf("%s: member %s got %d e-mails", st.Name, u.Attributes["email"], len(got))
			}
		}
	}
	if got := mailTo(mails, researcher, "submitted"); len(got) != 1 {
		t.Errorf("requester got %d submission e-mails", len(got))
	}
	final := mailTo(mails, researcher, "approved")
	if len(final) != 1 || !slices.Equal(final[0].Cc, []string{igReviewer}) {
		t.Fatalf("decision e-mails %+v, want one with %s in copy", final, igReviewer)
	}
	if eml := readFile(t, final[0].File); !strings.Contains(eml, "\r\nCc: "+igReviewer+"\r\n") {
		t.Errorf("decision e-mail file has no Cc header:\n%s", eml)
	}
}

// TestRequesterToldOfEveryEnd: a rejection and an expiry each tell the
// requester.
func TestRequesterToldOfEveryEnd(t *testing.T) {
	t.Run("rejection", func(t *testing.T) {
		s := stack(t, false)
		rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"reject"}, ServiceDecider{S: s})
		if err != nil || !rep.ExpectedResult {
			t.Fatalf("%v %+v", err, rep)
		}
		mails, _ := requestMail(s, rep.RequestID)
		got := mailTo(mails, researcher, "rejected")
		if len(got) != 1 || !slices.Equal(got[0].Cc, []string{igReviewer}) || !strings.Contains(got[0].Text, "rejected in a local scenario") {
			t.Fatalf("rejection e-mails %+v", got)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		s := stack(t, false)
		sub := submit(t, s)
		if _, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool { return r.TaskToken != "" }); err != nil {
			t.Fatal(err)
		}
		if err := clock.WaitForTimers(ctx(t), 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(s.Config.StageTimeout + time.Second)
		finished(t, s, sub, egress.StatusExpired)
		mails, _ := requestMail(s, sub.RequestID)
		got := mailTo(mails, researcher, "expired")
		if len(got) != 1 || !strings.Contains(got[0].Text, "was not decided in time") {
			t.Fatalf("expiry e-mails to the requester %+v", got)
		}
		if admin := mailTo(mails, AdminEmail, "expired"); len(admin) != 1 {
			t.Fatalf("expiry e-mails to the admin %+v", admin)
		}
	})
}

// TestDirectoryListUsersInGroup: the local user directory pages as
// Cognito does, through the SDK client and the adapter the function uses.
func TestDirectoryListUsersInGroup(t *testing.T) {
	dir := &Directory{PoolID: UserPoolID, Groups: []string{"Empty"}}
	var want []string
	for i := range 125 {
		who := egress.Identity{Subject: fmt.Sprintf("u%03d", i), Email: fmt.Sprintf("u%03d@example.org", i), Groups: []string{egress.GroupIG}}
		u := DirectoryUser{User: PoolUser(who)}
		switch i % 25 {
		case 3:
			u.Disabled = true
		case 4:
			u.Attributes["email_verified"] = "false"
		default:
			want = append(want, who.Email)
		}
		dir.Users = append(dir.Users, u)
	}
	dir.Users = append(dir.Users, DirectoryUser{User: PoolUser(egress.Identity{Subject: "x", Email: "rit@example.org", Groups: []string{egress.GroupRIT}})})
	srv := httptest.NewServer(dir)
	t.Cleanup(srv.Close)
	client := cognitoidentityprovider.NewFromConfig(aws.Config{
		// The SDK's own retries: under load a connection to the test
		// server may be dropped, which is not what this test is about.
		Region: Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "localsecret", ""),
	})
	ctx := context.Background()

	got, err := userpool.New(client, UserPoolID).GroupEmails(ctx, egress.GroupIG)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("GroupEmails = %d %v, %v\nwant %d %v", len(got), got, err, len(want), want)
	}
	// Pages of at most 60 with a token to the next.
	pages, token := []int{}, (*string)(nil)
	for {
		out, err := client.ListUsersInGroup(ctx, &cognitoidentityprovider.ListUsersInGroupInput{
			UserPoolId: aws.String(UserPoolID), GroupName: aws.String(egress.GroupIG), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(out.Users))
		if out.Users[0].UserStatus != "CONFIRMED" || slices.ContainsFunc(out.Users[0].Attributes, func(a cogtypes.AttributeType) bool {
			return aws.ToString(a.Name) == "cognito:user_status"
		}) {
			t.Errorf("user %+v: status as an attribute", out.Users[0])
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(pages, []int{60, 60, 5}) {
		t.Errorf("pages %v, want 60, 60, 5", pages)
	}
	if out, err := client.ListUsersInGroup(ctx, &cognitoidentityprovider.ListUsersInGroupInput{
		UserPoolId: aws.String(UserPoolID), GroupName: aws.String("Empty")}); err != nil || len(out.Users) != 0 || out.NextToken != nil {
		t.Errorf("empty group: %+v, %v", out, err)
	}

	refused := []struct {
		name string
		in   cognitoidentityprovider.ListUsersInGroupInput
		code string
	}{
		{"unknown group", cognitoidentityprovider.ListUsersInGroupInput{UserPoolId: aws.String(UserPoolID), GroupName: aws.String("Nobody")}, "ResourceNotFoundException"},
		{"unknown pool", cognitoidentityprovider.ListUsersInGroupInput{UserPoolId: aws.String(Region + "_other"), GroupName: aws.String(egress.GroupIG)}, "ResourceNotFoundException"},
		{"limit over 60", cognitoidentityprovider.ListUsersInGroupInput{UserPoolId: aws.String(UserPoolID), GroupName: aws.String(egress.GroupIG), Limit: aws.Int32(61)}, "InvalidParameterException"},
		{"token of another group", cognitoidentityprovider.ListUsersInGroupInput{UserPoolId: aws.String(UserPoolID), GroupName: aws.String(egress.GroupRIT),
			NextToken: aws.String(firstToken(t, client))}, "InvalidParameterException"},
		{"forged token", cognitoidentityprovider.ListUsersInGroupInput{UserPoolId: aws.String(UserPoolID), GroupName: aws.String(egress.GroupIG), NextToken: aws.String("!!")}, "InvalidParameterException"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ListUsersInGroup(ctx, &tt.in)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
		})
	}
}

// firstToken is the NextToken of the first page of the IG group.
func firstToken(t *testing.T, client *cognitoidentityprovider.Client) string {
	t.Helper()
	out, err := client.ListUsersInGroup(context.Background(), &cognitoidentityprovider.ListUsersInGroupInput{
		UserPoolId: aws.String(UserPoolID), GroupName: aws.String(egress.GroupIG), Limit: aws.Int32(1)})
	if err != nil || out.NextToken == nil {
		t.Fatalf("first page: %+v, %v", out, err)
	}
	return *out.NextToken
}
