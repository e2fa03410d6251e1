package userpool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"
)

type user struct {
	email, verified string
	enabled         bool
}

// fakePool serves ListUsersInGroup (AWS JSON 1.1) for one pool and group,
// in pages of at most Limit (60 at most, as Cognito), and records each
// page's size once: under load the SDK may retry a request whose
// connection the test server dropped, which is not another page.
type fakePool struct {
	users  []user
	limits []int
	seen   map[string]bool
}

func (f *fakePool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	}
	if r.Header.Get("X-Amz-Target") != "AWSCognitoIdentityProviderService.ListUsersInGroup" {
		fail(http.StatusBadRequest, "UnknownOperationException", r.Header.Get("X-Amz-Target"))
		return
	}
	var in struct {
		UserPoolId, GroupName, NextToken string
		Limit                            int
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if in.UserPoolId != "eu-west-2_pool" || in.GroupName != "InformationGovernance" {
		fail(http.StatusBadRequest, "ResourceNotFoundException", "Group not found.")
		return
	}
	if in.Limit < 1 || in.Limit > 60 {
		fail(http.StatusBadRequest, "InvalidParameterException", "limit")
		return
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if !f.seen[in.NextToken] {
		f.seen[in.NextToken] = true
		f.limits = append(f.limits, in.Limit)
	}
	start, _ := strconv.Atoi(in.NextToken)
	end := min(start+in.Limit, len(f.users))
	type attr struct{ Name, Value string }
	type userType struct {
		Username   string
		Attributes []attr
		Enabled    bool
		UserStatus string
	}
	out := struct {
		Users     []userType
		NextToken string `json:",omitempty"`
	}{Users: []userType{}}
	for i, u := range f.users[start:end] {
		out.Users = append(out.Users, userType{Username: fmt.Sprint(start + i), Enabled: u.enabled, UserStatus: "CONFIRMED",
			Attributes: []attr{{"sub", fmt.Sprint(start + i)}, {"email", u.email}, {"email_verified", u.verified}}})
	}
	if end < len(f.users) {
		out.NextToken = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func client(t *testing.T, h http.Handler) *cognitoidentityprovider.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return cognitoidentityprovider.NewFromConfig(aws.Config{
		Region: "eu-west-2", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
	})
}

// TestGroupEmails: every page is read, 60 users at a time, and only
// enabled users with a verified address are returned.
func TestGroupEmails(t *testing.T) {
	pool := &fakePool{}
	var want []string
	for i := range 130 {
		u := user{email: fmt.Sprintf("u%03d@example.org", i), verified: "true", enabled: true}
		switch i % 10 {
		case 3:
			u.enabled = false
		case 5:
			u.verified = "false"
		case 7:
			u.email = ""
		default:
			want = append(want, u.email)
		}
		pool.users = append(pool.users, u)
	}
	got, err := New(client(t, pool), "eu-west-2_pool").GroupEmails(context.Background(), "InformationGovernance")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d addresses %v\nwant %d %v", len(got), got, len(want), want)
	}
	if !slices.Equal(pool.limits, []int{60, 60, 60}) {
		t.Errorf("page sizes asked %v, want three pages of 60", pool.limits)
	}
}

func TestGroupEmailsRefused(t *testing.T) {
	tests := []struct {
		name, pool, group, wantCode string
	}{
		{"unknown group", "eu-west-2_pool", "Nobody", "ResourceNotFoundException"},
		{"no pool configured", "", "InformationGovernance", ""},
		{"no group", "eu-west-2_pool", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(client(t, &fakePool{}), tt.pool).GroupEmails(context.Background(), tt.group)
			if err == nil {
				t.Fatal("want an error")
			}
			var apiErr smithy.APIError
			if tt.wantCode != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode) {
				t.Fatalf("err = %v, want %s", err, tt.wantCode)
			}
		})
	}
}
